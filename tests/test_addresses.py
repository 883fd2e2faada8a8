"""The SSRF rules as functions: every refused form of address, and what passes. No traffic is sent."""

from __future__ import annotations

import ipaddress

import pytest

from reelserve.addresses import (AddressRefused, UrlRefused, check_literal, literal_address, parse_webhook_url, refusal,
                                 resolve)

REFUSED = {
    "127.0.0.1": "loopback", "127.1": "loopback", "2130706433": "loopback", "0x7f000001": "loopback",
    "0177.0.0.1": "loopback", "0x7f.0.0.1": "loopback", "[::1]": "loopback", "::1": "loopback",
    "::ffff:127.0.0.1": "loopback", "[::ffff:7f00:1]": "loopback", "2002:7f00:1::": "loopback",
    "10.0.0.1": "private", "172.16.5.4": "private", "192.168.1.1": "private", "012.0.0.1": "private",
    "167772161": "private", "fd00::1": "private", "::ffff:10.0.0.1": "private", "64:ff9b::a00:1": "private",
    "169.254.169.254": "link-local", "0xa9fea9fe": "link-local", "fe80::1": "link-local",
    "224.0.0.1": "multicast", "ff02::1": "multicast", "0.0.0.0": "unspecified", "0": "unspecified",
    "::": "unspecified", "100.64.0.1": "not a public", "192.0.2.1": "private", "240.0.0.1": "private",
}


@pytest.mark.parametrize("host", sorted(REFUSED))
def test_each_refused_form_is_refused_with_its_reason(host: str) -> None:
    address = literal_address(host)
    assert address is not None, host
    assert REFUSED[host] in (refusal(address) or ""), (host, refusal(address))
    with pytest.raises(AddressRefused):
        check_literal(host, allow_private=False)
    check_literal(host, allow_private=True)  # the setting lifts the rule


@pytest.mark.parametrize("host", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "134744072"])
def test_public_addresses_pass(host: str) -> None:
    assert refusal(literal_address(host)) is None
    check_literal(host, allow_private=False)


@pytest.mark.parametrize("host", ["example.com", "hooks.example", "1e100.net", "0xdead.example"])
def test_names_are_left_for_delivery(host: str) -> None:
    assert literal_address(host) is None
    check_literal(host, allow_private=False)


def test_a_name_resolving_to_loopback_is_refused_unless_allowed() -> None:
    with pytest.raises(AddressRefused, match="localhost resolves to .* loopback"):
        resolve("localhost", 80, allow_private=False)
    assert resolve("localhost", 80, allow_private=True) in {ipaddress.ip_address("127.0.0.1"),
                                                           ipaddress.ip_address("::1")}


# The IANA special-purpose registries' blocks that are not globally reachable (IPv4:
# iana-ipv4-special-registry; IPv6: iana-ipv6-special-registry; "N/A" counted as not reachable),
# transcribed here apart from addresses.py so that a slip in its table shows. Multicast and the IPv6
# space outside 2000::/3 (fec0::/10 site-local, ::/96 IPv4-compatible) are listed after them.
NOT_GLOBALLY_REACHABLE = [
    "0.0.0.0/8", "0.0.0.0/32", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.0.0/29", "192.0.0.8/32", "192.0.0.170/32", "192.0.0.171/32", "192.0.2.0/24",
    "192.88.99.0/24", "192.88.99.2/32", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "240.0.0.0/4", "255.255.255.255/32",
    "::1/128", "::/128", "64:ff9b:1::/48", "100::/64", "100:0:0:1::/64", "2001::/23", "2001::/32", "2001:2::/48",
    "2001:10::/28", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
    "224.0.0.0/4", "ff00::/8", "fec0::/10", "::/96", "::ffff:0:0:0/96", "4000::/3", "e000::/4",
]
# Inside those, what the registries mark globally reachable (Python 3.11 may still refuse some: allowed).
GLOBALLY_REACHABLE = ["192.0.0.9/32", "192.0.0.10/32", "192.31.196.0/24", "192.52.193.0/24", "192.175.48.0/24",
                      "64:ff9b::808:808/128", "2620:4f:8000::/48"]


def _samples(block: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    network = ipaddress.ip_network(block)
    middle = network.network_address + network.num_addresses // 2
    return list(dict.fromkeys([network.network_address, middle, network.broadcast_address]))


@pytest.mark.parametrize("block", NOT_GLOBALLY_REACHABLE)
def test_every_block_that_is_not_globally_reachable_is_refused(block: str) -> None:
    for address in _samples(block):
        assert refusal(address), (block, address)
        with pytest.raises(AddressRefused):
            check_literal(str(address), allow_private=False)


@pytest.mark.parametrize("block", GLOBALLY_REACHABLE)
def test_the_registries_globally_reachable_blocks_pass(block: str) -> None:
    for address in _samples(block):
        assert refusal(address) is None, (block, address, refusal(address))


@pytest.mark.parametrize(("host", "why"), [
    ("64:ff9b:1::1", "64:ff9b:1::/48"), ("64:ff9b:1::808:808", "64:ff9b:1::/48"),  # local-use NAT64 (RFC 8215)
    ("fec0::1", "outside 2000::/3"), ("feff::1", "outside 2000::/3"),  # site-local, deprecated (RFC 3879)
    ("::808:808", "outside 2000::/3"), ("::127.0.0.1", "outside 2000::/3"),  # IPv4-compatible, deprecated
    ("::ffff:0:808:808", "outside 2000::/3"),  # IPv4-translated (RFC 2765), not a mapped address
    ("::ffff:0.0.0.0", "unspecified"), ("::ffff:192.0.0.170", "192.0.0.170 is"),  # mapped: its IPv4 judged
    ("64:ff9b::c000:aa", "192.0.0.170 is"), ("64:ff9b::c0a8:1", "private"),  # NAT64: its IPv4 judged
    ("2002:c000:aa::1", "192.0.0.170 is"), ("2002:808:808::1", "2002::/16"),  # 6to4: N/A, refused
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "private"), ("5f00::1", "5f00::/16"), ("3fff::1", "3fff::/20"),
])
def test_the_forms_python_3_11_let_through_are_refused_with_their_reason(host: str, why: str) -> None:
    address = literal_address(host)
    assert address is not None and why in (refusal(address) or ""), (host, refusal(address))


@pytest.mark.parametrize("host", ["::ffff:8.8.8.8", "64:ff9b::808:808", "2001:4860:4860::8888", "192.31.196.1"])
def test_a_form_carrying_a_public_ipv4_address_or_a_public_ipv6_one_passes(host: str) -> None:
    assert refusal(literal_address(host)) is None


# URLs the probe found accepted at submit and then retried forever: the sender could never attempt them.
UNUSABLE = {
    "http://0127.0.0.1/x": "url_parsing",  # octal to inet_aton (87.0.0.1), decimal to others: httpx refuses it
    "http://08.0.0.1/": "url_parsing",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/": "url_parsing",  # full-width digits: no IDNA form
    "http://127.0.0.1../": "url_host",
    "http://a..b.example/": "url_host",
    "http://-hooks.example/": "url_host",
    "http://%31%32%37.0.0.1/": "url_host",
    "http://1.2.3.4.5/": "url_host",  # ends in a number, but no IPv4 address
    "http://999.1.1.1/": "url_parsing",
    "http://[fe80::1%25eth0]/": "url_host",
    "http://hooks.example/\x00": "url_control_character",
    "http://hooks.example/a\nb": "url_control_character",
    "http://hoo\tks.example/": "url_control_character",  # urlsplit would drop the tab silently
    "http://hooks.example/\x7f": "url_control_character",
    "http://hooks.example/\x85": "url_control_character",
    "https://hooks.example.com:99999/": "url_port",
    "https://hooks.example.com:0/": "url_port",
}


@pytest.mark.parametrize("url", sorted(UNUSABLE))
def test_a_url_the_sender_could_not_attempt_is_refused_even_where_private_addresses_are_allowed(url: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        parse_webhook_url(url, allow_private=True)
    assert refused.value.code == UNUSABLE[url], str(refused.value)


@pytest.mark.parametrize(("url", "host", "port", "address"), [
    ("https://hooks.example.com/in", "hooks.example.com", 443, None),
    ("http://Hooks.Example.COM.:8080/in?x=1", "hooks.example.com", 8080, None),
    ("https://b\u00fccher.example/", "xn--bcher-kva.example", 443, None),
    ("http://127.0.0.1:9/x", "127.0.0.1", 9, "127.0.0.1"),
    ("http://[::1]:9/x", "::1", 9, "::1"),
    ("http://2130706433/", "2130706433", 80, "127.0.0.1"),  # pinned to what inet_aton reads
    ("http://0xdead.example/", "0xdead.example", 80, None),
    ("http://my_host.example/", "my_host.example", 80, None),
])
def test_a_usable_url_parses_to_what_the_sender_resolves(url: str, host: str, port: int, address: str | None) -> None:
    target = parse_webhook_url(url, allow_private=True)
    assert (target.host, target.port) == (host, port)
    assert target.address == (None if address is None else ipaddress.ip_address(address))


@pytest.mark.parametrize("url", ["http://0177.0.0.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/",
                                 "http://[fec0::1]/"])
def test_a_refused_literal_address_is_an_address_refusal(url: str) -> None:
    with pytest.raises(AddressRefused):
        parse_webhook_url(url, allow_private=False)
