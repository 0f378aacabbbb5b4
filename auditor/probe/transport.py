"""The network under the prober's clients: the address policy enforced at connect time.

httpx resolves names itself; ``PolicyBackend`` (an httpcore network backend) resolves
instead, checks every address against the policy and connects to an allowed one (SNI and
Host stay the original name), so DNS rebinding and odd IP spellings cannot slip past. A
verified TLS upgrade on such a connection is recorded for the ``tls`` check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
from httpcore._backends.auto import AutoBackend
from httpcore._backends.base import SOCKET_OPTION, AsyncNetworkBackend, AsyncNetworkStream

from auditor.probe.addresses import AddressPolicy
from auditor.probe.handshakes import HandshakeLedger, session_of
from auditor.probe.interface import TlsObservation, TrustKey
from auditor.probe.outcome import ProbeError
from auditor.probe.tls_context import is_strict


def ip_literal(host: str) -> str | None:
    """The address itself when ``host`` is an IP literal (brackets allowed), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[str]:
    """The addresses DNS gives for ``host``, first-seen order, no repeats; raises ``dns``."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProbeError("dns", f"cannot resolve {host}: {exc.strerror or exc}") from exc
    except UnicodeError as exc:  # a label IDNA cannot encode (empty, over 63 characters)
        raise ProbeError("dns", f"cannot resolve {host}: not a valid host name ({exc})") from exc
    seen: list[str] = []
    for info in infos:
        addr = str(info[4][0])
        if addr not in seen:
            seen.append(addr)
    return seen


def admit(host: str, addresses: list[str], policy: AddressPolicy) -> list[str]:
    """The ``addresses`` of ``host`` the policy allows; raises ``blocked_by_policy`` if none."""
    allowed, refusals = [], []
    for addr in addresses:
        reason = policy.verdict(addr)
        if reason is None:
            allowed.append(addr)
        else:
            refusals.append(reason)
    if not allowed:
        detail = "; ".join(refusals) or "no address"
        raise ProbeError("blocked_by_policy", f"{host}: blocked by the address policy ({detail})")
    return allowed


class PolicyBackend(AsyncNetworkBackend):
    """httpcore network backend that refuses addresses the policy forbids."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Any = None,
        *,
        ledger: HandshakeLedger | None = None,
        trust: TrustKey | None = None,
        source_address: str | None = None,
    ) -> None:
        self._inner = AutoBackend()
        #: the local address every connection binds to (a worker's probe location)
        self._source = source_address
        self._policy = policy
        self._resolver = resolver  # test seam: async (host, port) -> list[str]
        self._ledger = ledger  # where verified handshakes are recorded (None: nowhere)
        self._trust = trust  # the trust store this client's context verifies against

    async def _resolve(self, host: str, port: int) -> list[str]:
        if self._resolver is not None:
            return list(await self._resolver(host, port))
        literal = ip_literal(host)
        if literal is not None:  # no resolver round trip through the thread pool
            return [literal]
        return await resolve(host, port)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        allowed = admit(host, await self._resolve(host, port), self._policy)
        last: Exception | None = None
        for addr in allowed:
            try:
                stream = await self._inner.connect_tcp(
                    addr,
                    port,
                    timeout=timeout,
                    local_address=local_address or self._source,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                last = exc
                continue
            if self._ledger is not None and self._trust is not None:
                return ObservedStream(stream, addr, port, self._trust, self._ledger)
            return stream
        assert last is not None
        raise last

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> AsyncNetworkStream:
        raise ProbeError("blocked_by_policy", "unix sockets are not allowed for probes")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class ObservedStream(AsyncNetworkStream):
    """A TCP stream whose TLS upgrade, when verified, is recorded in the handshake ledger."""

    def __init__(
        self,
        inner: AsyncNetworkStream,
        address: str,
        port: int,
        trust: TrustKey,
        ledger: HandshakeLedger,
    ) -> None:
        self._inner, self._address, self._port = inner, address, port
        self._trust, self._ledger = trust, ledger

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        if not server_hostname or not is_strict(ssl_context):
            return await self._inner.start_tls(ssl_context, server_hostname, timeout)
        key = (server_hostname, self._port, self._trust)
        try:
            stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            self._ledger.settle(key, None)  # waiters do their own handshake now
            raise
        try:
            obj = stream.get_extra_info("ssl_object")
            session = session_of(obj) if obj is not None else None
        except Exception:  # unreadable session facts: the request goes on, nothing recorded
            session = None
        if session is None:
            self._ledger.settle(key, None)
            return stream
        self._ledger.record(
            TlsObservation(
                host=server_hostname,
                port=self._port,
                trust=self._trust,
                address=self._address,
                session=session,
                seen_at=time.monotonic(),
            )
        )
        return stream
