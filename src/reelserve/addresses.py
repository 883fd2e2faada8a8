"""Which addresses a webhook may be sent to: the server-side request forgery (SSRF) rules.

A webhook URL is chosen by whoever holds an API key, and the server connects to it from inside the
deployment. Unless `allow_private` is set (a private deployment, or tests on 127.0.0.1), only
globally routable unicast addresses are allowed: no loopback, private, shared (CGNAT), link-local
(which holds the cloud metadata service, 169.254.169.254), multicast, reserved or unspecified
address, in IPv4 or IPv6, and no IPv6 form that carries one of those IPv4 addresses (mapped,
6to4, NAT64 of a private one).

Host spellings a resolver reads as IPv4 are all caught: `2130706433`, `0x7f000001`, `0177.0.0.1` and
`127.1` are 127.0.0.1 to `inet_aton`, which is what the C library (and so any HTTP client) uses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import TypeAlias

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC = re.compile(r"[0-9][0-9a-fA-FxX.]*")  # could be an IPv4 address in inet_aton's forms


class AddressRefused(ValueError):
    """The URL's host is, or resolves to, an address webhooks may not reach; the message says which and why."""


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any form a resolver accepts; None for a name that needs DNS."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC.fullmatch(host):
        try:  # decimal, octal, hex and short forms: what the C library would connect to
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def refusal(address: IPAddress) -> str | None:
    """Why `address` is refused, or None when a webhook may go there."""
    if isinstance(address, ipaddress.IPv6Address):
        for carried in (address.ipv4_mapped, address.sixtofour,
                        ipaddress.IPv4Address(address.packed[-4:]) if address in _NAT64 else None):
            if carried is not None and (why := refusal(carried)):
                return f"{why} (carried in the IPv6 address {address})"
    if address.is_loopback:
        return f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is link-local (where cloud metadata services answer)"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    if address.is_private:
        return f"{address} is a private address"
    if not address.is_global:
        return f"{address} is not a public address (reserved or shared)"
    return None


def check_literal(host: str, *, allow_private: bool) -> None:
    """At submit: refuse a host that is itself a refused address. Names are checked at delivery."""
    address = literal_address(host)
    if address is not None and not allow_private and (why := refusal(address)):
        raise AddressRefused(why)


def resolve(host: str, port: int, *, allow_private: bool) -> IPAddress:
    """At delivery: resolve `host` once and return the address to connect to (so DNS cannot answer
    differently between this check and the connection). Every address the name has must pass:
    a name with one public and one private address is refused. OSError when it does not resolve."""
    literal = literal_address(host)
    if literal is not None:
        addresses = [literal]
    else:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not allow_private:
        for address in addresses:
            if why := refusal(address):
                raise AddressRefused(why if literal is not None else f"{host} resolves to {why}")
    return addresses[0]
