"""Which URLs and addresses the server may connect out to: the server-side request forgery (SSRF) rules.

Webhook URLs and input-image URLs are chosen by whoever holds an API key, and the server connects to
them from inside the deployment; both follow these rules, each under its own setting. Unless
`allow_private` is set (a private deployment, or tests on 127.0.0.1), only globally reachable unicast
addresses are allowed: no loopback, private, shared (CGNAT), link-local (which holds the cloud
metadata service, 169.254.169.254), multicast, reserved or unspecified address, in IPv4 or IPv6,
and no IPv6 form that carries one of those IPv4 addresses (mapped, 6to4, NAT64 of a private one).
Python's own `ipaddress` flags are checked first; the IANA special-purpose registries below are
checked after them, because Python 3.11's tables predate the fix for CVE-2024-4032 (they pass
64:ff9b:1::/48, fec0::/10, 5f00::/16, 3fff::/20...).

Host spellings a resolver reads as IPv4 are all caught: `2130706433`, `0x7f000001`, `0177.0.0.1` and
`127.1` are 127.0.0.1 to `inet_aton`, which is what the C library (and so any HTTP client) uses.

`parse_url` is the one parser of such a URL: submit checks with it, and the webhook sender and the
image fetcher connect to what it returns, so nothing is accepted that they cannot attempt.
`parse_webhook_url` is it with the webhook's own advice.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import urlsplit

import httpx

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
_NUMERIC = re.compile(r"[0-9][0-9a-fA-FxX.]*")  # could be an IPv4 address in inet_aton's forms
_NUMBER = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")  # a label a URL parser reads as part of an IPv4 address
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")  # after IDNA encoding; `_` is common in SRV-style names


@dataclass(frozen=True)
class SpecialBlock:
    """One row of an IANA special-purpose address registry."""

    network: IPNetwork
    name: str
    globally_reachable: bool  # the registry's column; its "N/A" is written False (refused), as CPython does


def _registry(*rows: tuple[str, str, bool]) -> tuple[SpecialBlock, ...]:
    return tuple(SpecialBlock(ipaddress.ip_network(prefix), name, reachable) for prefix, name, reachable in rows)


# IANA IPv4 Special-Purpose Address Registry (RFC 6890), transcribed from
# https://www.iana.org/assignments/iana-ipv4-special-registry/ as published in 2025 (newest rows:
# 192.0.0.170/32 and 192.0.0.171/32, RFC 8880). Multicast (224.0.0.0/4) has a registry of its own.
IPV4_SPECIAL_PURPOSE = _registry(
    ("0.0.0.0/8", '"This network" (RFC 791)', False),
    ("0.0.0.0/32", '"This host on this network" (RFC 1122)', False),
    ("10.0.0.0/8", "Private-Use (RFC 1918)", False),
    ("100.64.0.0/10", "Shared Address Space (RFC 6598)", False),
    ("127.0.0.0/8", "Loopback (RFC 1122)", False),
    ("169.254.0.0/16", "Link Local (RFC 3927)", False),
    ("172.16.0.0/12", "Private-Use (RFC 1918)", False),
    ("192.0.0.0/24", "IETF Protocol Assignments (RFC 6890)", False),
    ("192.0.0.0/29", "IPv4 Service Continuity Prefix (RFC 7335)", False),
    ("192.0.0.8/32", "IPv4 dummy address (RFC 7600)", False),
    ("192.0.0.9/32", "Port Control Protocol Anycast (RFC 7723)", True),
    ("192.0.0.10/32", "Traversal Using Relays around NAT Anycast (RFC 8155)", True),
    ("192.0.0.170/32", "NAT64/DNS64 Discovery (RFC 8880)", False),
    ("192.0.0.171/32", "NAT64/DNS64 Discovery (RFC 8880)", False),
    ("192.0.2.0/24", "Documentation (TEST-NET-1) (RFC 5737)", False),
    ("192.31.196.0/24", "AS112-v4 (RFC 7535)", True),
    ("192.52.193.0/24", "AMT (RFC 7450)", True),
    ("192.88.99.0/24", "Deprecated (6to4 Relay Anycast) (RFC 7526)", False),  # N/A
    ("192.88.99.2/32", "6a44-relay anycast address (RFC 6751)", False),
    ("192.168.0.0/16", "Private-Use (RFC 1918)", False),
    ("192.175.48.0/24", "Direct Delegation AS112 Service (RFC 7534)", True),
    ("198.18.0.0/15", "Benchmarking (RFC 2544)", False),
    ("198.51.100.0/24", "Documentation (TEST-NET-2) (RFC 5737)", False),
    ("203.0.113.0/24", "Documentation (TEST-NET-3) (RFC 5737)", False),
    ("240.0.0.0/4", "Reserved (RFC 1112)", False),
    ("255.255.255.255/32", "Limited Broadcast (RFC 919, RFC 8190)", False),
)

# IANA IPv6 Special-Purpose Address Registry (RFC 6890), transcribed from
# https://www.iana.org/assignments/iana-ipv6-special-registry/ as published in 2025 (newest row:
# 100:0:0:1::/64, RFC 9780). Multicast (ff00::/8) has a registry of its own.
IPV6_SPECIAL_PURPOSE = _registry(
    ("::1/128", "Loopback Address (RFC 4291)", False),
    ("::/128", "Unspecified Address (RFC 4291)", False),
    ("::ffff:0:0/96", "IPv4-mapped Address (RFC 4291)", False),  # judged by its IPv4 address: see refusal()
    ("64:ff9b::/96", "IPv4-IPv6 Translat. (RFC 6052)", True),  # and by its IPv4 address
    ("64:ff9b:1::/48", "IPv4-IPv6 Translat. (RFC 8215)", False),
    ("100::/64", "Discard-Only Address Block (RFC 6666)", False),
    ("100:0:0:1::/64", "Dummy IPv6 Prefix (RFC 9780)", False),
    ("2001::/23", "IETF Protocol Assignments (RFC 2928)", False),
    ("2001::/32", "TEREDO (RFC 4380, RFC 8190)", False),  # N/A
    ("2001:1::1/128", "Port Control Protocol Anycast (RFC 7723)", True),
    ("2001:1::2/128", "Traversal Using Relays around NAT Anycast (RFC 8155)", True),
    ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast (RFC 9665)", True),
    ("2001:2::/48", "Benchmarking (RFC 5180)", False),
    ("2001:3::/32", "AMT (RFC 7450)", True),
    ("2001:4:112::/48", "AS112-v6 (RFC 7535)", True),
    ("2001:10::/28", "Deprecated (previously ORCHID) (RFC 4843)", False),  # N/A
    ("2001:20::/28", "ORCHIDv2 (RFC 7343)", True),
    ("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix (RFC 9374)", True),
    ("2001:db8::/32", "Documentation (RFC 3849)", False),
    ("2002::/16", "6to4 (RFC 3056)", False),  # N/A
    ("2620:4f:8000::/48", "Direct Delegation AS112 Service (RFC 7534)", True),
    ("3fff::/20", "Documentation (RFC 9637)", False),
    ("5f00::/16", "Segment Routing (SRv6) SIDs (RFC 9602)", False),
    ("fc00::/7", "Unique-Local (RFC 4193, RFC 8190)", False),
    ("fe80::/10", "Link-Local Unicast (RFC 4291)", False),
)

# IANA IPv6 Address Space registry: 2000::/3 is the only block allocated as global unicast; the rest is
# multicast, unique-local, link-local, or reserved by the IETF (fec0::/10 site-local, ::/96 IPv4-compatible).
IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UrlRefused(ValueError):
    """A URL the server will not connect to; `code` names the rule (a 422's detail type)."""

    def __init__(self, message: str, code: str = "url_parsing") -> None:
        super().__init__(message)
        self.code = code


class AddressRefused(UrlRefused):
    """The URL's host is, or resolves to, an address the server may not reach; the message says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "url_refused")


@dataclass(frozen=True)
class UrlTarget:
    """A checked URL: what the webhook sender sends to, or the image fetcher fetches."""

    url: httpx.URL
    host: str  # ASCII (IDNA-encoded), without brackets or a trailing dot: what is resolved and named in TLS
    port: int
    address: IPAddress | None  # the address the host spells, or None for a name (resolved at each attempt)


WebhookTarget = UrlTarget  # the name the webhook sender knows it by


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
    """Why `address` is refused, or None when the server may connect there."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None and (why := refusal(carried)):
            return f"{why} (carried in the IPv6 address {address})"
        if carried is not None and (address in _MAPPED or address in _NAT64):
            return None  # the packets go to that IPv4 address (natively, or through a NAT64), which passed
    return _flag_refusal(address) or _registry_refusal(address)


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in _NAT64:
        return ipaddress.IPv4Address(address.packed[-4:])
    return address.ipv4_mapped or address.sixtofour


def _flag_refusal(address: IPAddress) -> str | None:
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


def _registry_refusal(address: IPAddress) -> str | None:
    block = special_block(address)
    if block is not None and not block.globally_reachable:
        return f"{address} is not a public address ({block.network}: {block.name}, not globally reachable)"
    if isinstance(address, ipaddress.IPv6Address) and address not in IPV6_GLOBAL_UNICAST:
        return f"{address} is not a public address (outside {IPV6_GLOBAL_UNICAST}, the global unicast space)"
    return None


def special_block(address: IPAddress) -> SpecialBlock | None:
    """The most specific registry row holding `address` (an exception inside a larger block wins)."""
    table = IPV4_SPECIAL_PURPOSE if isinstance(address, ipaddress.IPv4Address) else IPV6_SPECIAL_PURPOSE
    rows = [row for row in table if address in row.network]
    return max(rows, key=lambda row: row.network.prefixlen, default=None)


def check_literal(host: str, *, allow_private: bool) -> None:
    """Refuse a host that is itself a refused address (AddressRefused). Names are checked at delivery."""
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


def parse_webhook_url(url: str, *, allow_private: bool) -> UrlTarget:
    """parse_url for a webhook URL, whose receiver authenticates requests by their signature."""
    return parse_url(url, allow_private=allow_private, credentials_advice="authenticate the request by its "
                     "webhook-signature header instead")


def parse_url(url: str, *, allow_private: bool, credentials_advice: str) -> UrlTarget:
    """Check a URL as the server will connect to it (with httpx, the sender's and fetcher's own parser) and
    judge a literal address; UrlRefused (AddressRefused for an address) when it could never be attempted.
    `credentials_advice` ends the refusal of a URL with user:password@: what to do instead."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"is longer than {MAX_URL_LENGTH} characters", "url_too_long")
    _refuse_control_characters(url)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        _refuse_literal_in(url, allow_private)  # the better reason, where there is one
        raise UrlRefused(f"is not a URL ({exc}); send an absolute http or https URL, URL-encoded") from exc
    _check_shape(parsed, credentials_advice)
    host, address = _host_of(parsed)
    if address is not None and not allow_private and (why := refusal(address)):
        raise AddressRefused(why)
    return UrlTarget(parsed, host, parsed.port or (443 if parsed.scheme == "https" else 80), address)


def _refuse_control_characters(url: str) -> None:
    # Some parsers drop a tab or newline silently, httpx refuses them, and PostgreSQL cannot store a NUL.
    for position, char in enumerate(url):
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise UrlRefused(f"contains the control character U+{ord(char):04X} at position {position}; "
                             "URL-encode it", "url_control_character")


def _refuse_literal_in(url: str, allow_private: bool) -> None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return
    if host and not allow_private:
        check_literal(host, allow_private=False)


def _check_shape(parsed: httpx.URL, credentials_advice: str) -> None:
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise UrlRefused("must be an absolute http:// or https:// URL with a host, URL-encoded", "url_scheme")
    if parsed.userinfo:
        raise UrlRefused(f"must not carry credentials (user:password@); {credentials_advice}", "url_credentials")
    if parsed.fragment:
        raise UrlRefused("must not have a #fragment, which is never sent", "url_fragment")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise UrlRefused(f"names port {parsed.port}; give the port the receiver listens on (1-65535)", "url_port")


def _host_of(parsed: httpx.URL) -> tuple[str, IPAddress | None]:
    """The host to resolve (or the address it spells); UrlRefused for one no resolver would read alike."""
    raw = parsed.raw_host.decode("ascii")
    if ":" in raw:  # a bracketed IPv6 address, already checked by httpx
        if "%" in raw:
            raise UrlRefused(f"names the IPv6 zone {raw!r}, an interface of the server", "url_host")
        return raw, ipaddress.IPv6Address(raw)
    host = raw.removesuffix(".")
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise UrlRefused(f"has the host {raw!r}, which is not a DNS name (letters, digits, '-' and '_' in "
                         "dot-separated labels) or an IP address", "url_host")
    if _NUMBER.fullmatch(labels[-1]):  # it ends in a number: every URL parser reads it as IPv4, or fails
        address = literal_address(host)
        if address is None:
            raise UrlRefused(f"has the host {raw!r}, which ends in a number but is not an IPv4 address", "url_host")
        return host, address
    return host, None
