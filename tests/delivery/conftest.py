"""Every delivery test sends traffic to 127.0.0.1 or ::1 only: a connection to any other address fails
the test instead of leaving the machine, even where a bug would have made one."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest


def _loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket path
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        return False  # a name: this test would resolve it, and might send a DNS query


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    refused: list[object] = []  # also checked at the end: code under test may swallow the error

    def guarded(real):  # noqa: ANN001, ANN202
        def call(sock: socket.socket, address: object):  # noqa: ANN202
            if not _loopback(address):
                refused.append(address)
                raise AssertionError(f"a webhook test tried to connect to {address!r}")
            return real(sock, address)
        return call

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))
    yield
    assert refused == [], f"connections to addresses other than loopback were tried: {refused}"
