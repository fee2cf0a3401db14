"""SSRF guard: image URLs come from sources we do not control, so a URL (or any redirect it
leads to) must not reach the pipeline's own network — metadata endpoints, databases, admin UIs.

The check runs where the connection is made: the host is resolved once, every address is
vetted, and the socket connects to a vetted address. So every redirect hop is checked, and a DNS
answer cannot change between the check and the connect (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(Exception):
    """The host resolves to an address the guard refuses."""


class AddressGuard:
    def __init__(self, allow_private: bool, allowlist: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.allowlist: list[IPNetwork] = [ipaddress.ip_network(n, strict=False) for n in allowlist]

    def check(self, host: str, address: str) -> None:
        if self.allow_private:
            return
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if any(ip in network for network in self.allowlist):
            return
        # is_global is False for private, loopback, link-local, reserved, shared (100.64/10),
        # documentation and unspecified ranges; multicast is refused as well.
        if not ip.is_global or ip.is_multicast:
            raise BlockedAddress(
                f"host {host} resolves to {ip}, a private, loopback, link-local or reserved "
                "address (allow_private_networks is off)"
            )


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
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
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:  # all of them: a later one may be used on a retry
            self._guard.check(host, address)
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
        raise BlockedAddress("Unix sockets are never used for image downloads")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the guarded network backend and no proxy from the environment
    (a proxy would make the guard vet the proxy instead of the image host)."""

    def __init__(self, guard: AddressGuard, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        # httpx 0.28 (pinned) takes no network backend, so its httpcore pool is rebuilt here.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(guard),
        )
