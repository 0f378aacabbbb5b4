"""Trust tiers (issue #17 item 1, DESIGN §9): an operator token or dashboard user cannot make a
check run a command, read a file, map the file system, reach the daemon's secrets or use
the daemon as an HTTP proxy. Each attack is one row of a table, replayed the way an attacker
would: REST API with an operator token (SQLite and PostgreSQL), the dashboard form with its
CSRF token, and a real ``auditor serve`` subprocess over HTTP. The legitimate path still works.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from auditor.config import parse_config
from auditor.store.accounts import create_token
from auditor.store.check_admin import change_check
from auditor.store.db import Database
from checks.tiers import CONFIG_ONLY_HINT, api_tier_problems
from tests.hardening.daemon import start, wait_for, write_config
from tests.web.conftest import Env, _cheap_password_hashing, flip_server, signed_in  # noqa: F401 - fixtures
from tests.web.conftest import env as _web_env  # noqa: F401 - fixture, used by `dashboard`

ALLOWED = "PAYMENTS_RO_DSN"
HINT = "only allowed in the config file"

#: (id, kind, options, the field the 422 must name)
ATTACKS: list[tuple[str, str, dict[str, Any], str]] = [
    ("inventory-command", "backups",
     {"mode": "inventory", "command": ["sh", "-c", "id > /tmp/pwned"]}, "options.command"),
    ("migrations-manifest-proc-environ", "migrations",
     {"dsn_env": ALLOWED, "manifest": "/proc/self/environ"}, "options.manifest"),
    ("dsn-env-auditor-database-url", "migrations",
     {"dsn_env": "AUDITOR_DATABASE_URL"}, "options.dsn_env"),
    ("dsn-env-auditor-secret-key", "migrations",
     {"dsn_env": "AUDITOR_SECRET_KEY"}, "options.dsn_env"),
    ("dsn-env-not-allow-listed", "migrations", {"dsn_env": "HOME"}, "options.dsn_env"),
    ("backups-artifact-glob-etc", "backups", {"mode": "artifact", "path": "/etc/*"},
     "options.path"),
    ("backups-artifact-pattern", "backups",
     {"mode": "artifact", "path": "/etc", "pattern": "shadow*"}, "options.pattern"),
    ("env-dotenv-etc-passwd", "env", {"source": "dotenv:/etc/passwd"}, "options.source"),
    ("env-process-pid-1", "env", {"source": "process:1"}, "options.source"),
    ("env-manifest-file", "env", {"source": "http:/env", "manifest": "/etc/shadow"},
     "options.manifest"),
    ("env-http-host-header", "env", {"source": "http:/env", "headers": {"host": "vault"}},
     "options.headers.host"),
    ("tls-ca-file-etc-shadow", "tls", {"ca_file": "/etc/shadow"}, "options.ca_file"),
    ("health-ca-file", "health", {"ca_file": "/etc/ssl/private/key.pem"}, "options.ca_file"),
    ("headers-ca-file", "headers", {"ca_file": "/etc/shadow"}, "options.ca_file"),
    ("http-method-post", "health", {"method": "POST"}, "options.method"),
    ("http-method-delete", "health", {"method": "delete"}, "options.method"),
    ("http-request-body", "health", {"method": "GET", "body": "{}"}, "options.body"),
    ("http-host-header", "health", {"headers": {"Host": "metadata.internal"}},
     "options.headers.Host"),
    ("http-x-forwarded-host", "exposure", {"headers": {"X-Forwarded-Host": "admin"}},
     "options.headers.X-Forwarded-Host"),
    ("body-keep-over-4kib", "health", {"body_keep": 4097}, "options.body_keep"),
    # body_cap and tls days are bounded alike on both tiers (tests/security/test_bounds.py);
    # a backup age past a year is fine in the file (up to 3650d) but not through the API
    ("backups-max-age-over-a-year", "backups", {"mode": "heartbeat", "max_age": "1000d"},
     "options.max_age"),
]  # fmt: skip

LEGIT: list[tuple[str, str, dict[str, Any]]] = [
    ("health-get", "health", {"path": "/health", "method": "GET"}),
    ("health-head-body-keep-4kib", "health", {"method": "HEAD", "body_keep": 4096}),
    ("health-auth-header", "health", {"headers": {"Accept": "application/json"}}),
    ("migrations-allow-listed-env", "migrations", {"dsn_env": ALLOWED, "tool": "alembic"}),
    ("backups-heartbeat", "backups", {"mode": "heartbeat", "max_age": "2d"}),
    ("env-http", "env", {"source": "http:/env", "required": ["DATABASE_URL"]}),
    ("tls-defaults", "tls", {"warn_days": 30}),
]


def _params(rows: list[Any]) -> list[Any]:
    return [pytest.param(*row[1:], id=row[0]) for row in rows]


# -- the REST API, operator token, SQLite and PostgreSQL --------------------------------------


@pytest.fixture
def store(db_url: str) -> Iterator[Database]:
    from auditor.store.lastuse import flush_pending

    st = Database(db_url)
    yield st
    flush_pending(st)  # before PostgreSQL's test schema is dropped
    st.close()


@pytest.fixture
def app(store: Database, monkeypatch: pytest.MonkeyPatch) -> Flask:
    from web import create_app

    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    config = parse_config(
        {"auditor": {"default_timeout": "2s"}, "security": {"api_env_allowlist": [ALLOWED]}},
        environ={},
    )
    return create_app(config, store, test_config={"TESTING": True, "API_RATE_LIMIT": 100_000})


@pytest.fixture
def operator(store: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(store, name='op', role='operator')[1]}"}


@pytest.fixture
def service_id(app: Flask, operator: dict[str, str]) -> str:
    body = {"name": "payments", "url": "http://127.0.0.1:9"}
    r = app.test_client().post("/api/v1/services", json=body, headers=operator)
    assert r.status_code == 201, r.json
    return str(r.json["data"]["id"])


def _create(client: FlaskClient, headers: dict[str, str], sid: str, kind: str, options: Any) -> Any:
    body = {"kind": kind, "options": options, "interval": "1m", "timeout": "5s"}
    return client.post(f"/api/v1/services/{sid}/checks", json=body, headers=headers)


def _assert_refused(r: Any, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.json)
    body = r.json
    assert body["success"] is False and body["error"]["code"] == "validation_failed"
    named = {d["field"]: d["message"] for d in body["error"]["details"]}
    assert field in named, named
    assert HINT in named[field] and "security model" in named[field], named


@pytest.mark.parametrize(("kind", "options", "field"), _params(ATTACKS))
def test_api_refuses_the_attack(
    app: Flask, operator: dict[str, str], service_id: str, kind: str, options: Any, field: str
) -> None:
    client = app.test_client()
    _assert_refused(_create(client, operator, service_id, kind, options), field)
    listed = client.get(f"/api/v1/services/{service_id}/checks", headers=operator)
    assert listed.json["data"] == []  # nothing was stored


@pytest.mark.parametrize(("kind", "options", "field"), _params(ATTACKS))
def test_patch_and_put_cannot_add_the_forbidden_field(
    app: Flask, operator: dict[str, str], service_id: str, kind: str, options: Any, field: str
) -> None:
    client = app.test_client()
    base = {"dsn_env": ALLOWED} if kind == "migrations" else {}
    base |= {"mode": "heartbeat"} if kind == "backups" else {}
    base |= {"source": "http:/env"} if kind == "env" else {}
    made = _create(client, operator, service_id, kind, base)
    assert made.status_code == 201, made.json
    url = f"/api/v1/services/{service_id}/checks/{made.json['data']['id']}"
    _assert_refused(client.patch(url, json={"options": options}, headers=operator), field)
    put = client.put(url, json={"kind": kind, "options": options}, headers=operator)
    _assert_refused(put, field)
    assert client.get(url, headers=operator).json["data"]["options"] == base


@pytest.mark.parametrize(("kind", "options"), _params(LEGIT))
def test_api_accepts_the_legitimate_check(
    app: Flask, operator: dict[str, str], service_id: str, kind: str, options: Any
) -> None:
    r = _create(app.test_client(), operator, service_id, kind, options)
    assert r.status_code == 201, r.json
    assert r.json["data"]["source"] == "api"


def test_ca_file_refusal_is_no_file_system_oracle(
    app: Flask, operator: dict[str, str], service_id: str, tmp_path: Path
) -> None:
    """An existing and a missing file get the very same answer: nothing was opened."""
    real = tmp_path / "ca.pem"
    real.write_text("-----BEGIN CERTIFICATE-----\n")
    answers = []
    for path in (str(real), "/etc/shadow", str(tmp_path / "missing.pem"), "/nonexistent/x"):
        r = _create(app.test_client(), operator, service_id, "tls", {"ca_file": path})
        answers.append((r.status_code, r.json["error"]))
    assert all(a == answers[0] for a in answers), answers
    assert answers[0][0] == 422


def test_sqlite_dsn_in_an_allow_listed_variable_is_refused(
    app: Flask,
    operator: dict[str, str],
    service_id: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """An allow-listed variable pointing at a SQLite file (the auditor's own DB) is refused at
    write time, and a check written before the variable changed is refused when it runs."""
    client = app.test_client()
    made = _create(client, operator, service_id, "migrations", {"dsn_env": ALLOWED})
    assert made.status_code == 201, made.json
    monkeypatch.setenv(ALLOWED, f"sqlite:///{tmp_path}/auditor.db")
    again = _create(client, operator, service_id, "migrations", {"dsn_env": ALLOWED})
    _assert_refused(again, "options.dsn_env")
    run = client.post(
        f"/api/v1/services/{service_id}/checks/{made.json['data']['id']}/run", headers=operator
    )
    assert run.status_code == 201, run.json
    assert run.json["data"]["status"] == "error"
    assert (
        "refused to run" in run.json["data"]["summary"] and "SQLite" in run.json["data"]["summary"]
    )
    assert run.json["data"]["facts"] == {}


@pytest.mark.parametrize(
    ("kind", "stored", "undo"),
    [
        pytest.param("backups", {"mode": "inventory", "command": ["sh", "-c", "touch {m}"]},
                     "command", id="old-row-inventory-command"),
        pytest.param("health", {"method": "POST", "body": "x"}, "method", id="old-row-http-post"),
        pytest.param("migrations", {"dsn_env": "AUDITOR_SECRET_KEY"}, "dsn_env",
                     id="old-row-secret-env"),
    ],
)  # fmt: skip
def test_a_stored_api_check_that_breaks_the_policy_is_not_run(
    app: Flask,
    store: Database,
    operator: dict[str, str],
    service_id: str,
    tmp_path: Path,
    kind: str,
    stored: dict[str, Any],
    undo: str,
) -> None:
    """Rows written before the policy (or before the allow-list shrank) give an error run."""
    marker = tmp_path / "pwned"
    client = app.test_client()
    legit = {"backups": {"mode": "heartbeat"}, "migrations": {"dsn_env": ALLOWED}}.get(kind, {})
    made = _create(client, operator, service_id, kind, legit)
    assert made.status_code == 201, made.json
    cid = made.json["data"]["id"]
    options = {
        k: [a.format(m=marker) for a in v] if isinstance(v, list) else v for k, v in stored.items()
    }
    change_check(store, service_id, cid, lambda c, _t: setattr(c, "options", options))
    run = client.post(f"/api/v1/services/{service_id}/checks/{cid}/run", headers=operator)
    assert run.status_code == 201, run.json
    data = run.json["data"]
    assert data["status"] == "error" and data["error_kind"] == "config", data
    assert (
        "refused to run this API-made" in data["summary"] and f"options.{undo}" in data["summary"]
    )
    assert not marker.exists()


def test_allow_list_shrinking_refuses_an_existing_check(
    store: Database, operator: dict[str, str], app: Flask, service_id: str
) -> None:
    from web import create_app

    made = _create(app.test_client(), operator, service_id, "migrations", {"dsn_env": ALLOWED})
    assert made.status_code == 201
    stricter = create_app(
        parse_config({"auditor": {"default_timeout": "2s"}}, environ={}),
        store,
        test_config={"TESTING": True, "API_RATE_LIMIT": 100_000},
    )
    cid = made.json["data"]["id"]
    run = stricter.test_client().post(
        f"/api/v1/services/{service_id}/checks/{cid}/run", headers=operator
    )
    assert run.json["data"]["status"] == "error"
    assert "api_env_allowlist" in run.json["data"]["summary"]


def test_config_tier_keeps_every_option() -> None:
    """The same options are fine in the file: the policy only binds the API tier."""
    for _id, kind, options, _field in ATTACKS:
        assert api_tier_problems(kind, options, [ALLOWED]), _id
    config = parse_config(
        {
            "services": [
                {
                    "name": "s",
                    "url": "https://s.example",
                    "checks": [
                        {"kind": "backups", "mode": "inventory", "command": ["true"]},
                        {"kind": "health", "method": "POST", "body": "{}", "body_keep": 65536},
                        {"kind": "migrations", "dsn_env": "ANY", "manifest": "/srv/m.txt"},
                    ],
                }
            ]
        },
        environ={},
    )
    assert len(config.services[0].checks) == 3


def test_allow_list_refuses_auditor_settings() -> None:
    from auditor.config import ConfigError

    with pytest.raises(ConfigError, match=r"security\.api_env_allowlist"):
        parse_config({"security": {"api_env_allowlist": ["AUDITOR_SECRET_KEY"]}}, environ={})


def test_openapi_documents_the_restricted_options(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    create = doc["components"]["schemas"]["CheckCreate"]["properties"]["options"]
    assert "API-tier" in create["description"]
    assert "command" in create["x-config-only"]["backups"]
    assert "manifest" in create["x-config-only"]["migrations"]
    assert "ca_file" in create["x-config-only"]["tls"]


# -- the dashboard form, with its CSRF token ---------------------------------------------------


@pytest.fixture
def dashboard(request: pytest.FixtureRequest) -> Env:
    """The dashboard test app (tests/web/conftest.py), seeded with config checks and users."""
    env: Env = request.getfixturevalue("_web_env")
    return env


FORM_ATTACKS = [
    pytest.param("backups", 'mode = "inventory"\ncommand = ["sh", "-c", "id"]', "command",
                 id="form-inventory-command"),
    pytest.param("migrations", 'dsn_env = "X"\nmanifest = "/proc/self/environ"', "manifest",
                 id="form-migrations-manifest"),
    pytest.param("env", 'source = "dotenv:/etc/passwd"', "source", id="form-env-dotenv"),
    pytest.param("health", 'method = "POST"', "method", id="form-http-post"),
    pytest.param("health", 'headers = { Host = "internal" }', "headers.Host", id="form-host"),
    pytest.param("tls", 'ca_file = "/etc/shadow"', "ca_file", id="form-ca-file"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "options", "field"), FORM_ATTACKS)
def test_dashboard_form_refuses_the_attack(
    dashboard: Env, kind: str, options: str, field: str
) -> None:
    env = dashboard
    client, csrf = signed_in(env, "operator")
    page = client.get("/manage/services/payments-api/checks/new").get_data(as_text=True)
    assert "Only the config file may set" in page and "command" in page
    form = {"csrf_token": csrf, "kind": kind, "name": "attack", "options": options, "enabled": "1"}
    r = client.post("/manage/services/payments-api/checks/new", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert f"{field}: " in html and CONFIG_ONLY_HINT.replace("'", "&#39;") in html
    with env.store.read() as s:
        from sqlmodel import select

        from auditor.store.models import Check

        assert s.exec(select(Check).where(Check.name == "attack")).first() is None


def test_dashboard_form_accepts_a_get_health_check(dashboard: Env) -> None:
    client, csrf = signed_in(dashboard, "operator")
    form = {"csrf_token": csrf, "kind": "health", "name": "legit", "options": 'path = "/ok"',
            "enabled": "1"}  # fmt: skip
    r = client.post("/manage/services/payments-api/checks/new", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)


# -- a real daemon over HTTP ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_real_daemon_refuses_command_and_manifest(db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    config = write_config(
        tmp_path / "config.toml",
        {"database_url": db_url, "listen": f"127.0.0.1:{port}"},
        [],
        extra=f'\n[security]\napi_env_allowlist = ["{ALLOWED}"]\n',
    )
    daemon_env = {
        "AUDITOR_SECRET_KEY": Fernet.generate_key().decode(),
        ALLOWED: "postgresql://x@db/x",
    }
    made = subprocess.run(
        [sys.executable, "-m", "auditor", "token", "create", "--role", "operator", "--name", "op",
         "--config", str(config)],
        capture_output=True, text=True, env={**os.environ, **daemon_env}, check=True,
    )  # fmt: skip
    headers = {"Authorization": f"Bearer {made.stdout.strip().splitlines()[-1]}"}
    marker = tmp_path / "pwned"
    proc = start("serve", config, env=daemon_env, log=tmp_path / "daemon.log")
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        assert wait_for(lambda: httpx.get(base[:-7] + "/healthz").status_code == 200, 30)
        svc = httpx.post(f"{base}/services", headers=headers,
                         json={"name": "p", "url": "http://127.0.0.1:9"})  # fmt: skip
        assert svc.status_code == 201, svc.text
        checks = f"{base}/services/{svc.json()['data']['id']}/checks"
        for kind, options, field in [
            ("backups", {"mode": "inventory", "command": ["sh", "-c", f"touch {marker}"]},
             "options.command"),
            ("migrations", {"dsn_env": ALLOWED, "manifest": "/proc/self/environ"},
             "options.manifest"),
        ]:  # fmt: skip
            r = httpx.post(checks, headers=headers, json={"kind": kind, "options": options})
            assert r.status_code == 422, r.text
            details = {d["field"]: d["message"] for d in r.json()["error"]["details"]}
            assert HINT in details[field], details
        ok = httpx.post(checks, headers=headers,
                        json={"kind": "health", "options": {"path": "/health"}})  # fmt: skip
        assert ok.status_code == 201, ok.text
        # a row written before the policy: the daemon's worker refuses it instead of running it
        beat = httpx.post(checks, headers=headers, json={
            "kind": "backups", "interval": "1s", "timeout": "1s",
            "options": {"mode": "heartbeat"}})  # fmt: skip
        assert beat.status_code == 201, beat.text
        cid = beat.json()["data"]["id"]
        old = {"mode": "inventory", "command": ["sh", "-c", f"touch {marker}"]}
        db = Database(db_url)
        try:
            change_check(db, beat.json()["data"]["service_id"], cid,
                         lambda c, _t: setattr(c, "options", old))  # fmt: skip
        finally:
            db.close()

        def refused() -> bool:
            runs = httpx.get(f"{base}/checks/{cid}/runs", headers=headers).json()["data"]
            return any("refused to run" in r["summary"] for r in runs)

        assert wait_for(refused, 30), (tmp_path / "daemon.log").read_text()[-2000:]
        assert not marker.exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        if proc.poll() is None:
            proc.kill()


# -- the stored body of an API-tier check ------------------------------------------------------


@pytest.fixture
def big_json_server() -> Iterator[str]:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = json.dumps({"status": "ok", "blob": "s" * 60_000}).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_api_health_check_stores_at_most_4_kib_of_body(
    app: Flask, operator: dict[str, str], big_json_server: str
) -> None:
    """No ``body_keep`` given: the API tier's 4 KiB applies when it runs (not the file's 64 KiB)."""
    client = app.test_client()
    svc = client.post(
        "/api/v1/services", json={"name": "big", "url": big_json_server}, headers=operator
    )
    assert svc.status_code == 201, svc.json
    sid = svc.json["data"]["id"]
    made = _create(client, operator, sid, "health", {"path": "/", "body_cap": "1MiB"})
    assert made.status_code == 201, made.json
    run = client.post(
        f"/api/v1/services/{sid}/checks/{made.json['data']['id']}/run", headers=operator
    )
    facts = run.json["data"]["facts"]
    assert run.json["data"]["status"] == "pass", run.json
    assert len(facts["body"]) == 4096 and facts["body_truncated"] is True
    assert facts["body_json"] == {"status": "ok"}  # only what health+json/conditions name
