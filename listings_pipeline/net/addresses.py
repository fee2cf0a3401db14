"""Which addresses the product may connect to: the egress policy.

Sources, image hosts and their redirects are chosen by people outside the operator's control
(config authors, partner sites, whoever wrote an image URL), so by default every outbound
connection is refused to addresses that reach the pipeline's own network: private, loopback,
link-local, cloud metadata, carrier-grade NAT, multicast, reserved and unspecified ranges.
IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the embedded
address too: Python's `is_global` calls `64:ff9b::7f00:1` and `2002:7f00:1::` global, yet they
route to 127.0.0.1 on networks with a NAT64 gateway or a 6to4 relay.

The ranges are listed here rather than taken from `ipaddress` flags alone, so the decision does
not change with the Python version; the flags are a second net. The operator widens the policy
with `LISTINGS_EGRESS_ALLOW` (networks). Cloud metadata addresses stay refused inside a wider
allowed network: only an allow-list entry of exactly that address opens one.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOW_ENV = "LISTINGS_EGRESS_ALLOW"


class EgressRefused(Exception):
    """An outbound request the product will not make; the message says why."""


class BlockedAddress(EgressRefused):
    """A connection the egress policy refuses; the message names the host and the address."""


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), what) for net, what in pairs)


METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2")
)  # AWS/GCP/Azure instance metadata, AWS IPv6 metadata, ECS task metadata

_REFUSED_V4 = _nets(
    ("0.0.0.0/8", "unspecified ('this network')"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # and 255.255.255.255, broadcast
)
_REFUSED_V6 = _nets(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::/96", "IPv4-compatible (deprecated)"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignment (Teredo, benchmarking, ORCHID)"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def _embedded(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 address stands for, and the kind of embedding."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped", ip.ipv4_mapped
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is not a public destination ("loopback address"), or None when it is."""
    if ip in METADATA:
        return "cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded(ip)) is not None:
        kind, inner = embedded
        reason = refusal(inner)
        return f"{kind} address embedding {inner} ({reason})" if reason else None
    for network, what in _REFUSED_V4 if ip.version == 4 else _REFUSED_V6:
        if ip in network:
            return f"{what} address"
    if ip.is_multicast:
        return "multicast address"
    if ip.is_reserved or ip.is_unspecified:
        return "reserved address"
    if not ip.is_global:
        return "address that is not globally routable"
    return None


def _same(host: str, ip: IPAddress) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0]) == ip
    except ValueError:
        return False  # a name, not an address


def parse_networks(values: Iterable[str], setting: str = ALLOW_ENV) -> tuple[IPNetwork, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as err:
            raise ValueError(f"{setting}: {value.strip()!r} is not an IP network: {err}") from None
    return tuple(networks)


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@dataclass(frozen=True)
class EgressPolicy:
    """The addresses outbound connections may reach: public ones, plus `allow`."""

    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, extra: Iterable[str] = ()
    ) -> EgressPolicy:
        """The operator's policy (`LISTINGS_EGRESS_ALLOW`, comma-separated networks), plus
        `extra` networks from a component's own older setting."""
        env = os.environ if env is None else env
        return cls(parse_networks([*split_list(env.get(ALLOW_ENV)), *extra]))

    def allowed(self, ip: IPAddress) -> bool:
        if ip in METADATA:  # only on its own, never as part of a wider network
            return any(n.num_addresses == 1 and ip in n for n in self.allow)
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)  # the same destination, written as IPv6
        return any(c in n for c in candidates for n in self.allow if n.version == c.version)

    def check(self, host: str, address: str) -> None:
        """Raise BlockedAddress unless `address` (what `host` resolved to) may be reached."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        if self.allowed(ip):
            return
        reason = refusal(ip)
        if reason is not None:
            shown = str(ip) if _same(host, ip) else f"{host} resolves to {ip}"
            raise BlockedAddress(
                f"{shown}: {reason}, refused (the operator can allow it with {ALLOW_ENV})"
            )

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of `host`, every one vetted: the caller connects only to these.

        All are checked, not just the first: a name that also resolves into a private
        network is refused, whichever address a retry would use."""
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            self.check(host, address)
        return addresses
