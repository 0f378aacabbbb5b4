"""An httpcore network stream on plain asyncio streams (asyncio's own TLS), for the prober.

httpcore runs on anyio under asyncio; anyio's TLS stream drives the ``SSLObject`` from Python
with cancel scopes around every read and write, which is most of a probe's CPU time after
the handshake itself. asyncio's ``start_tls`` transport does the same work with less Python
per byte. Errors are mapped to httpcore's exception types exactly as its anyio backend maps
them, so httpx, the pool and ``classify_exception`` see what they saw before.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

from httpcore import ConnectError, ConnectTimeout, ReadError, ReadTimeout, WriteError, WriteTimeout
from httpcore._backends.base import AsyncNetworkStream
from httpcore._utils import is_socket_readable


def _timeout(seconds: float | None) -> asyncio.Timeout:
    return asyncio.timeout(seconds)


async def connect(host: str, port: int, timeout: float | None) -> AioStream:
    """TCP connection to ``host`` (an address the policy already allowed)."""
    try:
        async with _timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError as exc:
        raise ConnectTimeout(str(exc)) from exc
    except OSError as exc:
        raise ConnectError(str(exc) or type(exc).__name__) from exc
    return AioStream(reader, writer)


class AioStream(AsyncNetworkStream):
    """One connection: reads, writes, the TLS upgrade and the extra info httpcore asks for."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with _timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise ReadTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            raise ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with _timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise WriteTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError, RuntimeError) as exc:
            raise WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        # no wait for the peer's close_notify: a probe must never hang on a slow close
        with contextlib.suppress(Exception):
            self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        try:
            async with _timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            await self.aclose()
            raise ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError, EOFError) as exc:
            self._writer.transport.abort()
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            # an idle pooled connection is unusable once the peer closed it or sent anything
            sock = self._writer.get_extra_info("socket")
            return (
                self._reader.at_eof()
                or bool(getattr(self._reader, "_buffer", b""))
                or (sock is not None and is_socket_readable(sock))
            )
        return None
