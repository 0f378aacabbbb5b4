"""Local HTTPS / HTTP servers for the wire tests (127.0.0.1 only, trustme certificates)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme


@dataclass
class Page:
    """What the server answers: GET/HEAD get ``headers``/``body``, OPTIONS ``options_headers``."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    options_headers: list[tuple[str, str]] = field(default_factory=list)
    redirect_to: str | None = None
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


def _handler(page: Page) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            page.requests.append((self.command, self.path, dict(self.headers.items())))
            if page.redirect_to is not None:
                self._answer(301, [("Location", page.redirect_to)], b"")
            elif self.path == "/robots.txt":
                self._answer(404, [("Content-Type", "text/plain")], b"")
            else:
                self._answer(page.status, page.headers, page.body)

        def do_OPTIONS(self) -> None:
            page.requests.append((self.command, self.path, dict(self.headers.items())))
            self._answer(204, page.options_headers, b"")

    return Handler


@contextmanager
def serve(page: Page, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Serve ``page`` on 127.0.0.1 (HTTPS when ``tls`` is given); yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(page))
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Tls:
    ca: trustme.CA
    server_ctx: ssl.SSLContext
    ca_file: str


def make_tls(tmp_dir: str) -> Tls:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca_file = f"{tmp_dir}/ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    return Tls(ca, ctx, ca_file)
