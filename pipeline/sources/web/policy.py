"""Which network addresses the fetcher may connect to.

A pure function over resolved IP addresses: everything that is not a public unicast address is
refused (loopback, private, link-local, multicast, reserved, unspecified, shared and documentation
ranges, IPv4 hidden in IPv6). The one exception is a test-only allowance for 127.0.0.1.
The check runs on the addresses DNS actually returned, at connect time, for every connection
(so every redirect hop), and the socket is opened to the very address that was checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})
TEST_LOOPBACK = ipaddress.ip_address("127.0.0.1")

Resolver = Callable[[str, int], Iterable[str]]


class FetchError(Exception):
    """One URL could not be fetched; ``reason`` is the snake_case code of its quarantine row."""

    def __init__(self, reason: str, detail: str, http_status: int | None = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.http_status = http_status


class FetchRefused(FetchError):
    """The fetcher will not send this request at all (scheme, address or robots.txt)."""


def address_refusal(address: str, allow_loopback: bool = False) -> str | None:
    """The reason an address must not be contacted, or None when it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "invalid_address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            inner = address_refusal(str(embedded), allow_loopback)
            return inner or ("reserved_address" if ip.teredo or ip.sixtofour else None)
    if allow_loopback and ip == TEST_LOOPBACK:
        return None
    if ip.is_unspecified:
        return "unspecified_address"
    if ip.is_loopback:
        return "loopback_address"
    if ip.is_link_local:
        return "link_local_address"
    if ip.is_multicast:
        return "multicast_address"
    if ip.is_reserved:
        return "reserved_address"
    if ip.is_private or (ip.version == 6 and ip.is_site_local):  # fec0::/10 counts as global in Python
        return "private_address"
    if not ip.is_global:  # shared address space (100.64/10), benchmarking, documentation, ...
        return "non_global_address"
    return None


def scheme_refusal(url: str) -> FetchRefused | None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced IPv6 bracket, for one
        return FetchRefused("invalid_url", f"{url[:200]!r}: {exc}")
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        return FetchRefused("unsupported_scheme", f"{parts.scheme or 'no'} scheme in {url[:200]!r}; only http and https are fetched")
    try:
        _ = parts.port
    except ValueError as exc:  # a port out of range
        return FetchRefused("invalid_url", f"{url[:200]!r}: {exc}")
    if not parts.hostname:
        return FetchRefused("invalid_url", f"no host in {url[:200]!r}")
    if parts.username or parts.password:
        return FetchRefused("credentials_in_url", "URLs with user:password are not fetched")
    return None


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_addresses(host: str, port: int, allow_loopback: bool = False, resolver: Resolver = system_resolver) -> list[str]:
    """Resolve ``host`` and return its addresses when every one of them may be contacted.

    One bad address refuses the host: a name that resolves to both a public and a private address is
    the classic DNS-rebinding set-up, and picking "the good one" would only move the problem."""
    try:
        addresses = list(resolver(host, port))
    except (OSError, UnicodeError) as exc:
        raise FetchRefused("dns_error", f"{host}: {exc}") from None
    if not addresses:
        raise FetchRefused("dns_error", f"{host}: no addresses")
    for address in addresses:
        reason = address_refusal(address, allow_loopback)
        if reason:
            raise FetchRefused(reason, f"{host} resolves to {address}")
    return addresses
