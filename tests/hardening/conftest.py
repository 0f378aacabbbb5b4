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
    """What the guard saw; ``dns`` is a fake zone: name -> list of addresses (or a callable)."""

    def __init__(self) -> None:
        self.refused_connects: list[Any] = []
        self.lookups: list[str] = []
        self.dns: dict[str, Any] = {}


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

    def getaddrinfo(
        host: Any, port: Any = None, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        guard.lookups.append(name)
        if name in guard.dns:
            answer = guard.dns[name]
            addresses = answer() if callable(answer) else answer
            out = []
            for addr in addresses:
                fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
                sockaddr = (
                    (addr, int(port or 0), 0, 0)
                    if fam == socket.AF_INET6
                    else (addr, int(port or 0))
                )
                out.append((fam, socket.SOCK_STREAM, 6, "", sockaddr))
            return out
        if name == "localhost":
            return _real_getaddrinfo(host, port, family, type, proto, flags)
        # numeric spellings only ("2852039166", "0251.0376.0251.0376"): parsed locally by
        # libc, never sent to a resolver; any other name does not exist
        try:
            return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except socket.gaierror:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield guard
