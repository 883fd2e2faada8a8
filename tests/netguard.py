"""The network rule, enforced in every test process: traffic goes to loopback (127.0.0.0/8, ::1) only.

A connection to any other address fails the test instead of leaving the machine, and a name other than
`localhost` is never looked up (no DNS query leaves either): it answers "does not resolve", as an
unknown name would, so code under test takes its ordinary refusal path. This holds even where a bug,
or a fuzzer's generated URL, would have reached out. Processes the tests start (`reelserve serve`)
are outside it; their tests point them only at 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})


def is_loopback_address(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket path
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        return False  # a name: connecting would look it up first
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback  # ::ffff:127.0.0.1 too (Python 3.11 says no)


def _may_resolve(host: object) -> bool:
    if host is None:
        return True  # a local wildcard (bind): no lookup
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name.lower() in LOOPBACK_NAMES or name.lower().endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name.split("%")[0])
        return True  # a literal: no query is sent, and connect() judges the address
    except ValueError:
        return False


class Guard:
    """Installed once per test process (tests/conftest.py); `refused` lists what was stopped."""

    def __init__(self) -> None:
        self.refused: list[object] = []

    def install(self, patch: Callable[[Any, str, Any], None]) -> None:
        patch(socket.socket, "connect", self._connect(socket.socket.connect))
        patch(socket.socket, "connect_ex", self._connect(socket.socket.connect_ex))
        patch(socket, "getaddrinfo", self._getaddrinfo(socket.getaddrinfo))

    def _connect(self, real):  # noqa: ANN001, ANN202
        def connect(sock: socket.socket, address: object):  # noqa: ANN202
            if not is_loopback_address(address):
                self.refused.append(address)
                raise AssertionError(f"a test tried to connect to {address!r}: tests talk to loopback only")
            return real(sock, address)
        return connect

    def _getaddrinfo(self, real):  # noqa: ANN001, ANN202
        def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            if not _may_resolve(host):
                raise socket.gaierror(socket.EAI_NONAME, f"{host!r} is not looked up in tests (loopback only)")
            return real(host, *args, **kwargs)
        return getaddrinfo
