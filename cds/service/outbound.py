"""A POST to an address a client named (a PAS Subscription's rest-hook endpoint), guarded
against server-side request forgery.

The host name is resolved once and refused when ANY of its addresses is not public (loopback,
private, link-local, shared, reserved, multicast, unspecified; an IPv4-mapped IPv6 address is
judged as its IPv4 address): on a client's word the server would otherwise POST into its own
network. The connection then goes to the address that was checked, not to a second look-up, so
a name that resolves elsewhere a moment later (DNS rebinding) cannot redirect it; TLS still
verifies the certificate against the name. `allow_internal` (`--subscription-allow-http`, a
local test receiver) skips the refusal, never the pinning.
"""

from __future__ import annotations

import ipaddress
import socket
import typing

import httpcore
import httpx

# What may go wrong on the wire: each is a delivery that failed, never an error of the caller.
WIRE_ERRORS = (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError)


class RefusedAddress(Exception):
    """The endpoint's host resolves to an address that is not public."""


class Unresolved(Exception):
    """The endpoint's host name does not resolve (now: DNS may answer later)."""


def is_public(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%", 1)[0])   # drop an IPv6 zone index
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def checked_address(host: str, port: int, allow_internal: bool = False) -> str:
    """The address to connect to for host:port; RefusedAddress when any address it resolves to
    is not public (unless allow_internal), Unresolved when it resolves to none."""
    try:
        found = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Unresolved("the endpoint's host name does not resolve") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise Unresolved("the endpoint's host name does not resolve")
    if not allow_internal and not all(is_public(a) for a in addresses):
        raise RefusedAddress("the endpoint's host resolves to a loopback, private, link-local or reserved address")
    return addresses[0]


class _Pinned(httpcore.SyncBackend):
    """Connects to the checked address of the host the URL names."""

    def __init__(self, allow_internal: bool) -> None:
        self.allow_internal = allow_internal

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        address = checked_address(host, port, self.allow_internal)
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


def post(url: str, content: bytes, headers: dict[str, str], *, connect_timeout: float, timeout: float,
         allow_internal: bool = False) -> int:
    """POST and return the HTTP status (redirects are not followed). Raises RefusedAddress,
    Unresolved, httpcore.TimeoutException or one of WIRE_ERRORS."""
    with httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=_Pinned(allow_internal),
                                 max_connections=1) as pool:
        answer = pool.request("POST", url, headers=headers, content=content, extensions={"timeout": {
            "connect": connect_timeout, "read": timeout, "write": timeout, "pool": timeout}})
    return answer.status
