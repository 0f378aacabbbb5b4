"""Hardening suite: a network guard so no test here can reach anything but loopback.

Every outbound connect and every name lookup made by the test process goes through the
guard: loopback addresses pass, everything else is recorded and refused before a packet
leaves (policy tests assert that the *address policy* refused first, so the guard must
stay untouched). Names other than ``localhost`` never reach a real resolver.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class Guard:
    def __init__(self) -> None:
        self.refused_connects: list[Any] = []
        self.lookups: list[str] = []


def _loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths
    try:
        return ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback
    except ValueError:
        return str(address[0]) == "localhost"


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[Guard]:
    guard = Guard()

    def connect(self: socket.socket, address: Any) -> None:
        if not _loopback(address):
            guard.refused_connects.append(address)
            raise PermissionError(f"hardening network guard: refused connect to {address!r}")
        _real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _loopback(address):
            guard.refused_connects.append(address)
            raise PermissionError(f"hardening network guard: refused connect to {address!r}")
        return _real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        guard.lookups.append(name)
        try:
            ipaddress.ip_address(name.split("%")[0])
        except ValueError:
            if name != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield guard
