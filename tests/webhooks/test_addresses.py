"""The SSRF rules as functions: every refused form of address, and what passes. No traffic is sent."""

from __future__ import annotations

import ipaddress

import pytest

from reelserve.addresses import AddressRefused, check_literal, literal_address, refusal, resolve

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
