"""Hostile targets on 127.0.0.1: raw-socket servers that misbehave in every way production does.

One listener per behaviour (so "accepts and never reads" and "TLS stalls mid-handshake" need
no request parsing). Every listener runs in daemon threads and never talks to anything but
the loopback client that connected to it. ``benign`` switches every HTTP behaviour to a
plain ``200 OK`` so a test can measure a baseline first, then turn hostile at once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

GIB4 = 4 * 1024**3
_BOMB_RAW = 256 * 1024 * 1024  # 256 MiB of zeros -> ~250 KB of gzip
_bomb_cache: list[bytes] = []


def gzip_bomb() -> bytes:
    """A gzip stream of 256 MiB of zeros, built once, streamed through compressobj."""
    if not _bomb_cache:
        comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = b"\0" * (1024 * 1024)
        parts = [comp.compress(block) for _ in range(_BOMB_RAW // len(block))]
        parts.append(comp.flush())
        _bomb_cache.append(b"".join(parts))
    return _bomb_cache[0]


def read_request(conn: socket.socket, limit: int = 65536) -> bytes:
    """Read up to the end of the request head (or ``limit`` bytes / EOF)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"ok"}'


@dataclass
class Hostile:
    """The running listeners: ``url(mode)`` / ``port(mode)``; ``benign`` flips behaviour."""

    ports: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    benign: threading.Event = field(default_factory=threading.Event)
    connections: dict[str, int] = field(default_factory=dict)

    def url(self, mode: str, path: str = "/") -> str:
        scheme = "https" if mode.startswith("tls_") else "http"
        return f"{scheme}://127.0.0.1:{self.ports[mode]}{path}"

    def _hold(self, seconds: float = 3600.0) -> None:
        self.stop.wait(seconds)

    # -- behaviours: each gets the accepted connection -----------------------------------

    def drip(self, conn: socket.socket) -> None:
        """One header byte per second, forever."""
        read_request(conn)
        if self.benign.is_set():
            conn.sendall(OK)
            return
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 100_000:
            if self.stop.wait(1.0):
                return
            conn.sendall(bytes([byte]))

    def silent(self, conn: socket.socket) -> None:
        """Accepts, never reads, never answers."""
        if self.benign.is_set():
            read_request(conn)
            conn.sendall(OK)
            return
        self._hold()

    def huge(self, conn: socket.socket) -> None:
        """A declared 4 GiB body, streamed for real."""
        read_request(conn)
        if self.benign.is_set():
            conn.sendall(OK)
            return
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {GIB4}\r\n\r\n".encode()
        )
        self._stream_zeros(conn, GIB4)

    def huge_chunked(self, conn: socket.socket) -> None:
        """4 GiB with no length at all (chunked): only a cap on what is read can stop it."""
        read_request(conn)
        if self.benign.is_set():
            conn.sendall(OK)
            return
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sent = 0
        while sent < GIB4 and not self.stop.is_set():
            conn.sendall(frame)
            sent += len(chunk)

    def _stream_zeros(self, conn: socket.socket, total: int) -> None:
        chunk = b"\0" * 65536
        sent = 0
        while sent < total and not self.stop.is_set():
            conn.sendall(chunk)
            sent += len(chunk)

    def bomb(self, conn: socket.socket) -> None:
        """~250 KB of gzip that inflates to 256 MiB."""
        read_request(conn)
        if self.benign.is_set():
            conn.sendall(OK)
            return
        body = gzip_bomb()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        self._hold(5.0)

    def garbage(self, conn: socket.socket) -> None:
        """Binary noise instead of HTTP."""
        read_request(conn)
        if self.benign.is_set():
            conn.sendall(OK)
            return
        noise = bytes(b if b not in b"\r\nHT" else 0 for b in os.urandom(8192))
        conn.sendall(b"\x00\xff\xfe" + noise)
        self._hold(5.0)

    def reset(self, conn: socket.socket) -> None:
        """Reads the request, then resets the connection (RST, not FIN)."""
        read_request(conn)
        if self.benign.is_set():
            conn.sendall(OK)
            return
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def many_headers(self, conn: socket.socket) -> None:
        """20,000 response headers."""
        read_request(conn)
        if self.benign.is_set():
            conn.sendall(OK)
            return
        head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(20_000))
        conn.sendall(head + b"Content-Length: 2\r\n\r\nok")
        self._hold(5.0)

    def loop(self, conn: socket.socket) -> None:
        """Redirects to itself, forever (keep-alive, so one connection serves every hop)."""
        while not self.stop.is_set():
            head = read_request(conn)
            if not head:
                return
            if self.benign.is_set():
                conn.sendall(OK)
                continue
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")

    def tls_stall(self, conn: socket.socket) -> None:
        """Reads the ClientHello and never answers."""
        conn.recv(65536)
        self._hold()

    def tls_half(self, conn: socket.socket) -> None:
        """Sends the first bytes of a ServerHello record, then stalls."""
        conn.recv(65536)
        conn.sendall(b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03")
        self._hold()

    # -- plumbing -------------------------------------------------------------------------

    MODES = (
        "drip",
        "silent",
        "huge",
        "huge_chunked",
        "bomb",
        "garbage",
        "reset",
        "many_headers",
        "loop",
        "tls_stall",
        "tls_half",
    )

    def serve(self, mode: str, behaviour: Callable[[socket.socket], None]) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        listener.settimeout(0.2)
        self.ports[mode] = listener.getsockname()[1]

        def handle(conn: socket.socket) -> None:
            try:
                behaviour(conn)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    conn.close()

        def accept_loop() -> None:
            with listener:
                while not self.stop.is_set():
                    try:
                        conn, _ = listener.accept()
                    except TimeoutError:
                        continue
                    except OSError:
                        return
                    self.connections[mode] = self.connections.get(mode, 0) + 1
                    threading.Thread(target=handle, args=(conn,), daemon=True).start()

        threading.Thread(target=accept_loop, name=f"hostile-{mode}", daemon=True).start()


def refused_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@contextmanager
def hostile_servers() -> Iterator[Hostile]:
    h = Hostile()
    for mode in Hostile.MODES:
        h.serve(mode, getattr(h, mode))
    gzip_bomb()
    try:
        yield h
    finally:
        h.stop.set()
        time.sleep(0.05)
