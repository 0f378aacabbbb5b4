"""Small helpers for tests: a threaded local HTTP server with scripted routes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]


def json_route(status: int, body: Any, delay: float = 0.0) -> Route:
    def handler(req: BaseHTTPRequestHandler) -> None:
        if delay:
            time.sleep(delay)
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)

    return handler


@contextmanager
def local_server(routes: dict[str, Route]) -> Iterator[str]:
    """Serve ``routes`` (path -> handler) on 127.0.0.1; yields the base URL."""
    hits: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            hits[path] = hits.get(path, 0) + 1
            route = routes.get(path)
            if route is None:
                self.send_error(404)
                return
            route(self)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def cheap_password_hashing(monkeypatch: Any) -> None:
    """Argon2 at test strength: the cost parameters are not what tests are about, and dozens
    of sign-ins per case must stay fast."""
    from argon2 import PasswordHasher

    import auditor.store.accounts

    monkeypatch.setattr(
        auditor.store.accounts,
        "_hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


def audit_events(store: Any, action: str) -> list[dict[str, Any]]:
    """The audit log's ``action`` events, oldest first, ``changes`` decoded on every backend."""
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT actor_kind, actor_name, target_type, changes FROM audit_event"
                " WHERE action = :action ORDER BY at"
            ),
            {"action": action},
        ).mappings()
        out = [dict(r) for r in rows]
    for event in out:
        if isinstance(event["changes"], str):  # SQLite hands JSON back as text
            event["changes"] = json.loads(event["changes"])
    return out
