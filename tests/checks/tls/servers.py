"""Local servers on 127.0.0.1 in daemon threads, for the tls/redirect/exposure tests."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


class ThreadedServer:
    """Accept loop in a thread; each connection handled in its own short-lived thread."""

    def __init__(
        self,
        handle: Callable[[socket.socket], None],
        address: str = "127.0.0.1",
        port: int = 0,
        accepts: int | None = None,
    ) -> None:
        """``accepts``: stop listening after that many connections (the next is refused)."""
        self._handle = handle
        self._accepts = accepts
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self._accepts is not None:
                self._accepts -= 1
                if self._accepts <= 0:
                    self.close()
            conn.settimeout(5)
            threading.Thread(target=self._safe, args=(conn,), daemon=True).start()

    def _safe(self, conn: socket.socket) -> None:
        try:
            self._handle(conn)
        except Exception:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self.sock.close()


#: Mozilla's intermediate TLS 1.2 suites (ssl-config.mozilla.org): a healthy server's list.
#: Python's own server default adds ECDHE/DHE CBC-SHA256/384 suites (Mozilla "old" only).
MOZILLA_INTERMEDIATE = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
)


def server_context(
    chain_file: Path,
    key_file: Path,
    *,
    seclevel0: bool = False,
    legacy: bool = False,
    ciphers: str = MOZILLA_INTERMEDIATE,
) -> ssl.SSLContext:
    """A TLS server context with ``ciphers`` for TLS 1.2 (Mozilla intermediate by default);
    ``seclevel0`` lets OpenSSL 3 load weak chains, ``legacy`` also do TLS 1.0 (with the
    ECDHE CBC-SHA1 suites TLS 1.0 needs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers(ciphers)
    if legacy:
        ctx.set_ciphers(f"{ciphers}:ECDHE-RSA-AES128-SHA:@SECLEVEL=0")
    elif seclevel0:
        ctx.set_ciphers(f"{ciphers}:@SECLEVEL=0")
    if legacy:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.load_cert_chain(str(chain_file), str(key_file))
    return ctx


def tls_handler(ctx: ssl.SSLContext) -> Callable[[socket.socket], None]:
    """Completes the handshake, reads once, closes."""

    def handle(conn: socket.socket) -> None:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            with contextlib.suppress(OSError):
                tls.recv(1024)

    return handle


def tls_server(ctx: ssl.SSLContext) -> ThreadedServer:
    return ThreadedServer(tls_handler(ctx))


def plain_http_server() -> ThreadedServer:
    """Answers anything, a TLS ClientHello included, with a plain-text HTTP 400."""

    def handle(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    return ThreadedServer(handle)


def silent_server() -> ThreadedServer:
    """Accepts TCP, reads, never answers: a handshake must end at the check's deadline."""

    def handle(conn: socket.socket) -> None:
        conn.settimeout(10)
        with contextlib.suppress(OSError):
            while conn.recv(4096):
                pass

    return ThreadedServer(handle)


def static_http_server(routes: dict[str, tuple[int, dict[str, str], bytes]]) -> ThreadedServer:
    """Minimal HTTP/1.1 server: path -> (status, headers, body); 404 otherwise."""
    return ThreadedServer(static_http_handler(routes))


def static_http_handler(
    routes: dict[str, tuple[int, dict[str, str], bytes]],
) -> Callable[[socket.socket], None]:
    """The handler of :func:`static_http_server`, for a server on another address."""

    def handle(conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ", 2)[1].decode()
        status, headers, body = routes.get(path, (404, {}, b"not found"))
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        conn.sendall(head.encode() + b"\r\n" + body)

    return handle


@contextlib.contextmanager
def wsgi_server(app: Any, banner: str | None = None) -> Iterator[int]:
    """Serve a WSGI app with werkzeug's threaded dev server; yields the port.

    ``banner`` replaces the dev server's own ``Werkzeug/x Python/y`` Server header.
    """
    from werkzeug.serving import WSGIRequestHandler, make_server

    handler = WSGIRequestHandler
    if banner is not None:
        shown = banner

        class Quiet(WSGIRequestHandler):
            def version_string(self) -> str:
                return shown

        handler = Quiet
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.port
    finally:
        server.shutdown()
        server.server_close()
