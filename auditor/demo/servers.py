"""Two local demo services on 127.0.0.1: one healthy, one broken in many deliberate ways."""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HEALTHY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}

TRACEBACK = """Traceback (most recent call last):
  File "/srv/app/handlers.py", line 42, in get_order
    order = db.fetch(order_id)
  File "/srv/app/db.py", line 17, in fetch
    raise ConnectionError("could not connect to server: Connection refused")
ConnectionError: could not connect to server: Connection refused
"""


class _Base(BaseHTTPRequestHandler):
    server_version = "demo"
    sys_version = ""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_OPTIONS(self) -> None:
        self._send(204, b"", "text/plain", {})

    def do_GET(self) -> None:  # overridden
        raise NotImplementedError

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 65536))
        self.do_GET()


class HealthyHandler(_Base):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        headers = dict(HEALTHY_HEADERS)
        headers["RateLimit-Policy"] = "100;w=60"
        headers["RateLimit"] = "limit=100, remaining=99, reset=60"
        if path in ("/health", "/ready"):
            body = json.dumps(
                {"status": "pass", "version": "1.4.2", "checks": {"database": [{"status": "pass"}]}}
            )
            self._send(200, body.encode(), "application/health+json", headers)
        elif path == "/":
            page = b"<!doctype html><html lang=en><head><title>Payments</title></head><body><h1>Payments API</h1></body></html>"
            self._send(200, page, "text/html; charset=utf-8", headers)
        elif self.command == "POST":
            self._send(400, b'{"error": "invalid request body"}', "application/json", headers)
        else:
            self._send(404, b'{"error": "not found"}', "application/json", headers)


class BrokenHandler(_Base):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        headers = {"Server": "Apache/2.4.29 (Ubuntu) PHP/7.2.24", "X-Powered-By": "PHP/7.2.24"}
        if path == "/health":
            self._send(500, TRACEBACK.encode(), "text/plain", headers)
        elif path == "/ready":
            self._send(
                503,
                b'{"status": "fail", "output": "migrations pending"}',
                "application/health+json",
                headers,
            )
        elif path == "/":
            self._send(200, b"<html><body>Orders</body></html>", "text/html", headers)
        else:
            self._send(500, TRACEBACK.encode(), "text/plain", headers)


def redirect_handler(https_port: int) -> type[BaseHTTPRequestHandler]:
    class Redirect(_Base):
        def do_GET(self) -> None:
            location = f"https://127.0.0.1:{https_port}{self.path}"
            self._send(301, b"", "text/plain", {"Location": location})

    return Redirect


class DemoServer:
    """One ThreadingHTTPServer (optionally TLS) in a daemon thread."""

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], cert: tuple[str, str] | None = None
    ) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        if cert is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            # Mozilla intermediate: Python's default adds CBC suites (tls.profile warns)
            ctx.set_ciphers(
                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
            )
            ctx.load_cert_chain(cert[0], cert[1])
            # handshake lazily in the handler thread, so one stalled client cannot block accept()
            self.httpd.socket = ctx.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> DemoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
