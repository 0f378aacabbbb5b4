"""The shipped server (waitress, ``auditor serve``) under bad requests, and secrets hygiene
(issue 8, parts 4 and 6): oversized bodies are 413, malformed heartbeats are 4xx envelopes,
every response carries the security headers, no debug mode is reachable, and seeded secrets
(DSN, webhook URL token and HMAC key, env values, API and metrics tokens, the Fernet key)
never show up in logs, API responses, metrics, results or the database file."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.hardening.daemon import start, wait_for, write_config
from tests.hardening.hostile import refused_port
from tests.support import json_route, local_server

SECRETS = {
    "dsn_password": "DsnPassw0rd-7f3a91c2",
    "webhook_token": "HookTok-5be0c4d8e1f2",
    "hmac_key": "HmacKey-a1b2c3d4e5f6",
    "env_value": "EnvVal-Sup3rSecret-9q8w7e",
    "metrics_token": "MetricsTok-0c9d8e7f6a5b",
    "fernet_key": Fernet.generate_key().decode(),
}


@dataclass
class Served:
    base: str
    token: str
    log: Path
    db: Path
    received: list[bytes] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # every API/metrics/page body we read

    def get(self, path: str, **kw: Any) -> httpx.Response:
        r = httpx.get(self.base + path, timeout=10, **kw)
        self.texts.append(r.text)
        return r

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = httpx.request(method, self.base + path, timeout=10, **kw)
        self.texts.append(r.text)
        return r


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    db = tmp / "auditor.db"
    received: list[bytes] = []

    class Receiver(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(204)
            self.end_headers()

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    (tmp / "app.env").write_text(
        f"DB_PASSWORD={SECRETS['env_value']}\nDEBUG=false\nSECRET_KEY={SECRETS['env_value']}x\n"
    )
    port = free_port()
    env = {
        "PAYMENTS_DSN": f"postgresql://auditor:{SECRETS['dsn_password']}@127.0.0.1:{refused_port()}/pay",
        "OPS_URL": f"http://127.0.0.1:{hook.server_address[1]}/hook/{SECRETS['webhook_token']}",
        "OPS_SECRET": SECRETS["hmac_key"],
        "METRICS_TOKEN": SECRETS["metrics_token"],
        "AUDITOR_SECRET_KEY": SECRETS["fernet_key"],
        "FLASK_DEBUG": "1",  # must not switch anything on
    }
    with local_server({"/down": json_route(503, {"status": "fail"})}) as target:
        config = write_config(
            tmp / "config.toml",
            {
                "database_url": f"sqlite:///{db}",
                "listen": f"127.0.0.1:{port}",
                "metrics_token_env": "METRICS_TOKEN",
                "log_level": "debug",
            },
            [
                {
                    "name": "payments",
                    "url": target,
                    "checks": [
                        {
                            "kind": "health",
                            "path": "/down",
                            "interval": "1s",
                            "timeout": "1s",
                            "failure_threshold": 1,
                        },
                        {
                            "kind": "migrations",
                            "tool": "alembic",
                            "dsn_env": "PAYMENTS_DSN",
                            "expected_head": "abc",
                            "interval": "1s",
                            "timeout": "1s",
                        },
                        {
                            "kind": "env",
                            "source": f"dotenv:{tmp / 'app.env'}",
                            "required": ["DB_PASSWORD", "SECRET_KEY"],
                            "interval": "1s",
                            "timeout": "1s",
                        },
                    ],
                }
            ],
            extra=(
                '\n[[alerting.receivers]]\nname = "ops"\ntype = "webhook"\n'
                'url_env = "OPS_URL"\nsecret_env = "OPS_SECRET"\n'
            ),
        )
        token_run = subprocess.run(
            [sys.executable, "-m", "auditor", "token", "create", "--role", "admin", "--name", "ci",
             "--config", str(config)],
            capture_output=True, text=True, env={**__import__("os").environ, **env}, check=True,
        )  # fmt: skip
        token = token_run.stdout.strip().splitlines()[-1]
        SECRETS["api_token"] = token
        log = tmp / "daemon.log"
        proc = start("serve", config, env=env, log=log)
        base = f"http://127.0.0.1:{port}"
        try:
            assert wait_for(lambda: httpx.get(base + "/healthz", timeout=1).status_code == 200, 30)
            assert wait_for(lambda: len(received) >= 1, 20), log.read_text()[-2000:]
            yield Served(base, token, log, db, received)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
            hook.shutdown()


def api(served: Served) -> dict[str, str]:
    return {"Authorization": f"Bearer {served.token}"}


def is_envelope_error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert body["success"] is False and body["error"]["code"], body


# -- oversized requests ---------------------------------------------------------------------


@pytest.mark.slow
def test_an_oversized_api_body_is_an_enveloped_413(served: Served) -> None:
    big = b'{"name": "' + b"x" * 1_500_000 + b'"}'
    r = served.request(
        "POST",
        "/api/v1/services",
        content=big,
        headers={**api(served), "Content-Type": "application/json"},
    )
    is_envelope_error(r, 413)


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", ["/api/v1/services", "/api/v1/heartbeats/" + "a" * 24, "/login", "/healthz"]
)
def test_a_giant_body_is_refused_by_the_server_before_it_is_buffered(
    served: Served, path: str
) -> None:
    """Even where the app never reads the body (heartbeats), a body past the server's cap
    (twice the app's limit, or an evidence upload's 10 MiB + 1 MiB when larger) is not
    spooled: 413."""
    big = b"x" * 12_000_000
    r = served.request("POST", path, content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413, (path, r.status_code, r.text[:200])


@pytest.mark.slow
def test_an_oversized_chunked_body_without_length_is_413(served: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    r = served.request(
        "POST",
        "/api/v1/services",
        content=chunks(),
        headers={**api(served), "Content-Type": "application/json"},
    )
    assert r.status_code == 413, r.text[:300]


@pytest.mark.slow
def test_an_oversized_login_form_is_413(served: Served) -> None:
    r = served.request("POST", "/login", data={"username": "x" * 2_000_000, "password": "y"})
    assert r.status_code == 413


# -- malformed heartbeat calls --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/api/v1/heartbeats/short", 400),
        ("POST", "/api/v1/heartbeats/" + "a" * 65, 400),
        ("POST", "/api/v1/heartbeats/" + "a" * 15 + "%00", 400),
        ("POST", "/api/v1/heartbeats/" + "é" * 20, 400),
        ("POST", "/api/v1/heartbeats/" + "a" * 24, 404),
        ("POST", "/api/v1/heartbeats/" + "a" * 24 + "/start", 404),
        ("POST", "/api/v1/heartbeats/" + "a" * 24 + "/256", 400),
        ("POST", "/api/v1/heartbeats/" + "a" * 24 + "/-1", 404),
        ("POST", "/api/v1/heartbeats/" + "a" * 24 + "/99999999999999999999999", 400),
        ("POST", "/api/v1/heartbeats/" + "a" * 24 + "/nope", 404),
        ("POST", "/api/v1/heartbeats/" + "a" * 24 + "/fail/extra", 404),
        ("POST", "/api/v1/heartbeats/../../admin", 404),
        ("DELETE", "/api/v1/heartbeats/" + "a" * 24, 405),
        ("PUT", "/api/v1/heartbeats/" + "a" * 24, 405),
        ("POST", "/api/v1/heartbeats/", 404),
    ],
)
def test_malformed_heartbeats_are_client_errors(
    served: Served, method: str, path: str, status: int
) -> None:
    r = served.request(method, path, content=b"\x00\xff garbage", headers={"X-Junk": "1"})
    assert r.status_code < 500, r.text[:300]
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.json()["success"] is False


# -- headers, cookies, debug ----------------------------------------------------------------

PATHS = [
    "/",
    "/login",
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/openapi.json",
    "/api/v1/services",
    "/no/such/page",
    "/api/v1/no-such-thing",
    "/static/../../etc/passwd",
]


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(served: Served, path: str) -> None:
    from web import SECURITY_HEADERS

    for headers in ({}, api(served)):
        r = served.get(path, headers=headers)
        assert r.status_code < 500, (path, r.status_code)
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (path, name, r.headers.get(name))
        server = r.headers.get("server", "")
        assert not any(ch.isdigit() for ch in server), server  # no version banner


@pytest.mark.slow
def test_cookies_are_httponly_and_samesite(served: Served) -> None:
    r = served.get("/login")
    r2 = served.request("POST", "/login", data={"username": "nobody", "password": "wrong"})
    cookies = r.headers.get_list("set-cookie") + r2.headers.get_list("set-cookie")
    assert cookies, "the login page sets no cookie (CSRF/session expected)"
    for cookie in cookies:
        low = cookie.lower()
        assert "httponly" in low and "samesite=" in low, cookie


@pytest.mark.slow
def test_no_debug_mode_is_reachable(served: Served) -> None:
    for path in ("/console", "/?__debugger__=yes&cmd=resource&f=style.css", "/_debug_toolbar"):
        r = served.get(path)
        assert r.status_code in (302, 404), path  # the dashboard sends strangers to /login
        assert "Werkzeug Debugger" not in r.text and "debugger caught" not in r.text.lower()
        assert "__debugger__" not in r.headers.get("content-type", "")
    r = served.request(
        "POST", "/api/v1/services", content=b"{not json", headers={**api(served),
        "Content-Type": "application/json"},
    )  # fmt: skip
    assert 400 <= r.status_code < 500 and "Traceback" not in r.text


# -- secrets --------------------------------------------------------------------------------


@pytest.mark.slow
def test_seeded_secrets_never_appear_anywhere(served: Served) -> None:
    # let alerts, env and migrations runs happen, then read everything an outsider can
    assert wait_for(lambda: served.db.exists(), 5)
    time.sleep(2.0)
    for path in (
        "/api/v1/services",
        "/api/v1/checks",
        "/api/v1/runs",
        "/api/v1/alerts",
        "/api/v1/openapi.json",
        "/",
    ):
        served.get(path, headers=api(served))
    checks = served.get("/api/v1/checks", headers=api(served)).json().get("data") or []
    for chk in checks:
        served.get(f"/api/v1/checks/{chk['id']}", headers=api(served))
        served.get(f"/api/v1/checks/{chk['id']}/runs", headers=api(served))
    metrics = served.get(
        "/metrics", headers={"Authorization": f"Bearer {SECRETS['metrics_token']}"}
    )
    assert metrics.status_code == 200 and "auditor_check_status" in metrics.text
    services = served.get("/api/v1/services", headers=api(served)).json().get("data") or []
    for svc in services:
        served.get(f"/api/v1/services/{svc['id']}", headers=api(served))
        served.get(f"/service/{svc['name']}", headers=api(served))

    haystacks: dict[str, bytes] = {
        "daemon log": served.log.read_bytes(),
        "responses": "\n".join(served.texts).encode(),
    }
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(served.db) + suffix)
        if path.exists():
            haystacks[f"database{suffix}"] = path.read_bytes()
    assert len(haystacks["daemon log"]) > 0
    import sqlite3

    conn = sqlite3.connect(f"file:{served.db}?mode=ro", uri=True)
    try:
        dump = "\n".join(conn.iterdump())
        kinds = {
            r[0]
            for r in conn.execute("SELECT kind FROM check_def c JOIN run r ON r.check_id = c.id")
        }
    finally:
        conn.close()
    haystacks["database dump"] = dump.encode()
    assert {"health", "migrations", "env"} <= kinds, kinds  # every secret-bearing kind ran
    assert served.received, "no alert reached the receiver"
    leaks = [
        f"{name} in {where}"
        for name, secret in SECRETS.items()
        for where, data in haystacks.items()
        if secret.encode() in data
    ]
    assert leaks == []
    # and the alert itself carries no secret either (the receiver sees only the body)
    for body in served.received:
        doc = json.loads(body)
        assert all(s not in body.decode() for s in SECRETS.values()), doc
