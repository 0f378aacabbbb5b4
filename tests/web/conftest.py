"""Dashboard fixtures: a SQLite store seeded through the real store code, users, a signed-in client."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auditor.config import Config, parse_config
from auditor.config.sync import sync_config
from auditor.schedule.rules import COMPLETION_RULES
from auditor.schedule.runner import RunResult
from auditor.store.accounts import create_user
from auditor.store.claims import claims_for
from auditor.store.db import Database
from auditor.store.models import utcnow
from auditor.store.runs import complete
from checks.base import Finding, RunStatus
from tests.support import cheap_password_hashing

PASSWORD = "correct horse battery"


class FlipServer:
    """A local HTTP service whose /health answers 500 until ``healthy`` is set."""

    def __init__(self) -> None:
        self.healthy = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                ok = outer.healthy or self.path.startswith("/ok")
                body = b'{"status": "ok"}' if ok else b'{"status": "down"}'
                self.send_response(200 if ok else 500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flip_server() -> Iterator[FlipServer]:
    srv = FlipServer()
    try:
        yield srv
    finally:
        srv.close()


def make_config(db_url: str, base_url: str, **auditor: Any) -> Config:
    return parse_config(
        {
            "auditor": {"database_url": db_url, **auditor},
            "services": [
                {
                    "name": "payments-api",
                    "url": base_url,
                    "environment": "production",
                    "owner": "team-payments",
                    "tags": ["tier-1"],
                    "checks": [
                        {"kind": "health", "path": "/health", "interval": "5m"},
                        {"kind": "health", "name": "ready", "path": "/ok", "interval": "5m"},
                        {"kind": "attestation", "item": "load testing completed"},
                    ],
                },
                {
                    "name": "search",
                    "url": base_url,
                    "environment": "staging",
                    "owner": "team-search",
                    "tags": ["tier-2"],
                    "checks": [{"kind": "health", "path": "/ok", "interval": "5m"}],
                },
            ],
        },
        environ={},
    )


def record(
    store: Database,
    service: str,
    check: str,
    status: str,
    *,
    at: datetime | None = None,
    findings: tuple[tuple[str, str, str], ...] = (),
    facts: dict[str, Any] | None = None,
    duration_ms: float = 42.0,
    summary: str = "",
) -> None:
    """Store one synthetic run through the real ``complete`` path."""
    at = at or utcnow()
    claim = next(c for c in claims_for(store, services=[service]) if c.target.check == check)
    result = RunResult(
        target=claim.target,
        status=RunStatus(status),
        summary=summary or f"{check} is {status}",
        findings=[Finding(*f) for f in findings],
        facts=facts or {},
        started_at=at,
        duration_ms=duration_ms,
        error="boom" if status == "error" else None,
        error_kind="connect" if status == "error" else None,
    )
    complete(
        store, COMPLETION_RULES, [(replace(claim, due_at=at), result)], "test", reschedule=False
    )


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@dataclass
class Env:
    app: Flask
    store: Database
    config: Config
    server: FlipServer


@pytest.fixture
def env(tmp_path: Any, flip_server: FlipServer) -> Iterator[Env]:
    from web import create_app

    url = f"sqlite:///{tmp_path}/auditor.db"
    config = make_config(url, flip_server.url)
    store = Database(url)
    sync_config(store, config)
    now = utcnow()
    for h in range(24, 0, -1):  # a day of history (older runs) for the charts
        at = now - timedelta(hours=h)
        record(
            store,
            "payments-api",
            "ready",
            "warn" if h in (7, 8) else "pass",
            at=at,
            duration_ms=40.0 + 25 * ((h * 7) % 5),
        )
        record(store, "payments-api", "health", "pass" if h > 5 else "fail", at=at)
    for i in range(6):
        record(
            store,
            "payments-api",
            "health",
            "fail",
            at=now - timedelta(minutes=2 * (6 - i)),
            findings=(("health.status", "high", "GET /health answered 500, expected 200"),),
            facts={"status": 500, "elapsed_ms": 12.5},
        )
        record(
            store,
            "payments-api",
            "ready",
            "pass",
            at=now - timedelta(minutes=2 * (6 - i)),
            facts={"status": 200, "elapsed_ms": 8.0 + i},
        )
        record(store, "search", "health", "pass", at=now - timedelta(minutes=2 * (6 - i)))
    for role in ("viewer", "operator", "admin"):
        create_user(store, username=role, role=role, password=PASSWORD)
    app = create_app(config, store, test_config={"TESTING": True})
    try:
        yield Env(app, store, config, flip_server)
    finally:
        store.close()


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    token = csrf_of(page.get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


@pytest.fixture
def client(env: Env) -> FlaskClient:
    return env.app.test_client()


def signed_in(env: Env, role: str) -> tuple[FlaskClient, str]:
    c = env.app.test_client()
    resp = login(c, role)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = c.get("/").get_data(as_text=True)
    return c, csrf_of(page)


@pytest.fixture
def viewer(env: Env) -> tuple[FlaskClient, str]:
    return signed_in(env, "viewer")


@pytest.fixture
def operator(env: Env) -> tuple[FlaskClient, str]:
    return signed_in(env, "operator")


@pytest.fixture
def admin(env: Env) -> tuple[FlaskClient, str]:
    return signed_in(env, "admin")
