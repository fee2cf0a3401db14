"""The guarded httpx transport: the egress policy applied where the connection is made.

The host is resolved once, every address is vetted, and the socket connects to a vetted
address. So every connection is checked — each redirect hop, each retry, each pooled
connection opened later — and a DNS answer cannot change between the check and the connect
(DNS rebinding). TLS still verifies the certificate against the host name: httpcore passes the
origin's name to the TLS handshake, whatever address the socket went to.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from listings_pipeline.net.addresses import BlockedAddress, EgressPolicy


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.resolve(host, port)  # raises BlockedAddress
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        error: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedAddress("Unix sockets are never used for outbound requests")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded network backend and no proxy from the environment
    (through a proxy, the guard would vet the proxy instead of the destination)."""

    def __init__(self, policy: EgressPolicy, limits: httpx.Limits | None = None) -> None:
        limits = limits or httpx.Limits()
        super().__init__(limits=limits, trust_env=False)
        # httpx 0.28 (pinned) takes no network backend, so its httpcore pool is rebuilt here.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy),
        )


def guarded_client(
    policy: EgressPolicy,
    *,
    timeout: httpx.Timeout | float,
    headers: dict[str, str] | None = None,
    limits: httpx.Limits | None = None,
) -> httpx.Client:
    """An httpx client whose every connection goes through the guard. It never follows
    redirects by itself: callers do, so each hop's scheme, host and secrets are decided."""
    return httpx.Client(
        transport=GuardedTransport(policy, limits),
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
        trust_env=False,
    )
