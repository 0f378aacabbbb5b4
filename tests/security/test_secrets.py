"""Issue #17 item 2: no secret follows a check to a new host; secrets are recognised by value
position (URL userinfo, token-like query items, secret headers) and never shown.

Attacks are made as an attacker with an OPERATOR token (or an operator's dashboard session,
CSRF included) would: against the real Flask app, on SQLite and PostgreSQL where storage
matters, and once against the real daemon with a real local HTTP server as "the other host"
recording every header it receives.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from auditor.config import parse_config
from auditor.store.accounts import create_token, create_user
from auditor.store.db import Database
from auditor.store.secret_fields import (
    has_secret,
    is_secret_header,
    is_secret_query_name,
    redact_headers,
    redact_url,
    secret_values,
    strip_url_secrets,
)
from tests.support import cheap_password_hashing
from web import create_app

V1 = "/api/v1"
KEY = Fernet.generate_key().decode()
PASSWORD = "correct horse battery"
API_KEY = "ApiKey-7d1f0c93be55"
TOKEN = "QueryTok-4e8a2b7c19"
USERPASS = "UserPw-0b3c5d7e9f"


# -- a recording HTTP server: "the other host" -------------------------------------------


@dataclass
class Recorder:
    url: str
    seen: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def received(self, secret: str) -> bool:
        return any(secret in v for h in self.seen for v in h.values()) or any(
            secret in p for p in self.paths
        )


@contextmanager
def recording_server() -> Iterator[Recorder]:
    """Answers 200 with the request's path and headers echoed back (the worst case for facts)."""
    rec = Recorder("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            rec.seen.append(dict(self.headers.items()))
            rec.paths.append(self.path)
            body = json.dumps(
                {"status": "ok", "path": self.path, "headers": dict(self.headers.items())}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rec.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with recording_server() as rec:
        yield rec


# -- the app, with an operator token and an operator dashboard user ------------------------


@dataclass
class Api:
    app: Flask
    client: FlaskClient
    store: Database
    operator: dict[str, str]

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(V1 + path, json=body, headers=self.operator)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(V1 + path, json=body, headers=self.operator)

    def get(self, path: str) -> Any:
        return self.client.get(V1 + path, headers=self.operator)

    def service(self, url: str = "https://svc.example.com", name: str = "svc") -> dict[str, Any]:
        r = self.post("/services", {"name": name, "url": url})
        assert r.status_code == 201, r.json
        return r.json["data"]  # type: ignore[no-any-return]

    def check(self, service_id: str, **options: Any) -> dict[str, Any]:
        body = {"kind": "health", "name": "api", "options": options}
        r = self.post(f"/services/{service_id}/checks", body)
        assert r.status_code == 201, r.json
        return r.json["data"]  # type: ignore[no-any-return]

    def raw_rows(self) -> str:
        """Every stored service and check row, as text (what a database dump would show)."""
        with self.store.engine.connect() as conn:
            rows = [
                *conn.execute(sa.text("SELECT * FROM service")).all(),
                *conn.execute(sa.text("SELECT * FROM check_def")).all(),
            ]
        return repr([tuple(r) for r in rows])


def _make_api(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    cheap_password_hashing(monkeypatch)
    monkeypatch.setenv("AUDITOR_SECRET_KEY", KEY)
    store = Database(url)
    config = parse_config({"auditor": {"default_timeout": "2s"}}, environ={})
    app = create_app(config, store, test_config={"TESTING": True, "API_RATE_LIMIT": 100_000})
    token = create_token(store, name="ops", role="operator")[1]
    create_user(store, username="operator", role="operator", password=PASSWORD)
    try:
        yield Api(app, app.test_client(), store, {"Authorization": f"Bearer {token}"})
    finally:
        store.close()


@pytest.fixture
def api(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    yield from _make_api(sqlite_url, monkeypatch)


@pytest.fixture
def api_db(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The same, on SQLite and on PostgreSQL (for what is stored at rest)."""
    yield from _make_api(db_url, monkeypatch)


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def dashboard(api: Api) -> tuple[FlaskClient, str]:
    """An operator signed in to the dashboard, with the session's CSRF token."""
    c = api.app.test_client()
    token = _csrf(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": "operator", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return c, _csrf(c.get("/").get_data(as_text=True))


# -- 1. moving a check to another host drops its secrets ----------------------------------

ATTACKER = "https://attacker.example.net"

MOVES = [
    pytest.param(
        "service",
        {"url": ATTACKER},
        {},
        "checks.api.options.headers.X-Api-Key",
        id="patch-service-url-to-attacker-host",
    ),
    pytest.param(
        "service",
        {"url": "https://svc.example.com:8443"},
        {},
        "checks.api.options.headers.X-Api-Key",
        id="patch-service-url-to-another-port-of-the-same-name",
    ),
    pytest.param(
        "check",
        {"options": {"path": ATTACKER + "/x", "headers": {"X-Api-Key": "********"}}},
        {},
        "options.headers.X-Api-Key",
        id="patch-check-path-to-absolute-attacker-url-sending-the-placeholder",
    ),
    pytest.param(
        "check",
        {"options": {"path": "//attacker.example.net/x", "headers": {"X-Api-Key": "********"}}},
        {},
        None,
        id="patch-check-path-protocol-relative-stays-on-the-service-host",
    ),
    pytest.param(
        "check",
        {"options": {"path": "/health?token=***", "headers": {"X-Api-Key": "********"}}},
        {"path": f"/health?token={TOKEN}"},
        None,
        id="same-host-placeholders-keep-the-stored-secrets",
    ),
    pytest.param(
        "check",
        {"options": {"path": ATTACKER + "/health?token=***", "headers": {"X-Api-Key": "********"}}},
        {"path": f"/health?token={TOKEN}"},
        "options.headers.X-Api-Key",
        id="patch-check-path-to-attacker-with-redacted-token-placeholder",
    ),
]


@pytest.mark.parametrize(("target", "body", "extra", "dropped"), MOVES)
def test_a_secret_never_follows_a_check_to_another_host(
    api: Api, target: str, body: dict[str, Any], extra: dict[str, Any], dropped: str | None
) -> None:
    svc = api.service()
    chk = api.check(
        svc["id"], headers={"X-Api-Key": API_KEY, "Accept": "application/json"}, **extra
    )
    where = f"/services/{svc['id']}" + ("" if target == "service" else f"/checks/{chk['id']}")
    r = api.patch(where, body)
    assert r.status_code == 200, r.json
    assert set(r.json) == {"success", "data", "meta"}
    after = api.get(f"/services/{svc['id']}/checks/{chk['id']}").json["data"]
    if dropped is None:
        assert r.json["meta"]["dropped_secrets"] == []
        assert "headers.X-Api-Key" in after["secret_fields"]
        assert API_KEY in _full_options(api)  # still there, encrypted, for the same host
    else:
        assert dropped in r.json["meta"]["dropped_secrets"]
        assert "X-Api-Key" not in after["options"]["headers"]
        if target == "service":  # the check itself was not edited: its plain headers stay
            assert after["options"]["headers"].get("Accept") == "application/json"
        assert API_KEY not in _full_options(api)
        assert TOKEN not in _full_options(api)
    assert API_KEY not in r.get_data(as_text=True)


def _full_options(api: Api) -> str:
    """What the daemon would run with (decrypted), for every check."""
    from auditor.store.claims import claims_for

    return repr([c.options for c in claims_for(api.store)])


def test_a_secret_reentered_in_the_same_request_is_kept(api: Api) -> None:
    svc = api.service()
    chk = api.check(svc["id"], headers={"X-Api-Key": API_KEY})
    r = api.patch(
        f"/services/{svc['id']}/checks/{chk['id']}",
        {"options": {"path": ATTACKER + "/x", "headers": {"X-Api-Key": "NewKey-for-the-new-host"}}},
    )
    assert r.status_code == 200, r.json
    assert r.json["meta"]["dropped_secrets"] == []
    assert r.json["data"]["secret_fields"] == ["headers.X-Api-Key"]
    assert "NewKey-for-the-new-host" in _full_options(api)
    assert API_KEY not in _full_options(api)


def test_a_service_url_change_on_the_same_host_keeps_secrets(api: Api) -> None:
    svc = api.service()
    api.check(svc["id"], headers={"X-Api-Key": API_KEY})
    r = api.patch(f"/services/{svc['id']}", {"url": "https://svc.example.com/v2", "owner": "x"})
    assert r.status_code == 200 and r.json["meta"]["dropped_secrets"] == []
    assert API_KEY in _full_options(api)


REDACTED_URL_INPUTS = [
    pytest.param(
        {"url": "https://***@attacker.example.net"},
        "url",
        id="patch-service-url-with-redacted-userinfo-to-new-host",
    ),
    pytest.param(
        {"url": "https://***@svc.example.com/other"},
        "url",
        id="patch-service-url-with-redacted-userinfo-new-path",
    ),
]


@pytest.mark.parametrize(("body", "field_name"), REDACTED_URL_INPUTS)
def test_a_redacted_url_cannot_be_stored(api: Api, body: dict[str, Any], field_name: str) -> None:
    svc = api.service(f"https://alice:{USERPASS}@svc.example.com")
    r = api.patch(f"/services/{svc['id']}", body)
    assert r.status_code == 422, r.json
    assert r.json["success"] is False
    assert [d["field"] for d in r.json["error"]["details"]] == [field_name]


def test_the_service_url_as_shown_keeps_its_credentials(api: Api) -> None:
    svc = api.service(f"https://alice:{USERPASS}@svc.example.com")
    assert svc["url"] == "https://***@svc.example.com"
    r = api.patch(f"/services/{svc['id']}", {"url": svc["url"], "description": "d"})
    assert r.status_code == 200, r.json
    api.check(svc["id"])
    from auditor.store.claims import claims_for

    assert [c.target.url for c in claims_for(api.store)] == [
        f"https://alice:{USERPASS}@svc.example.com"
    ]


def test_moving_the_service_reports_its_own_dropped_credentials(api: Api) -> None:
    svc = api.service(f"https://alice:{USERPASS}@svc.example.com/?api_key={TOKEN}")
    r = api.patch(f"/services/{svc['id']}", {"url": ATTACKER})
    assert r.status_code == 200, r.json
    assert r.json["meta"]["dropped_secrets"] == ["url.query.api_key", "url.userinfo"]
    assert USERPASS not in api.raw_rows() and TOKEN not in api.raw_rows()


# -- 2. secrets by value position: stored encrypted, shown redacted ------------------------

AT_REST = [
    pytest.param(
        {"svc_url": f"https://alice:{USERPASS}@svc.example.com"},
        USERPASS,
        id="userinfo-in-service-url",
    ),
    pytest.param({"path": f"/health?token={TOKEN}"}, TOKEN, id="token-query-in-check-path"),
    pytest.param({"path": f"/health?api_key={TOKEN}&v=1"}, TOKEN, id="api_key-query-in-check-path"),
    pytest.param({"path": f"/health?v=1&sig={TOKEN}"}, TOKEN, id="sig-query-in-check-path"),
    pytest.param({"headers": {"X-Api-Key": TOKEN}}, TOKEN, id="x-api-key-header"),
    pytest.param({"headers": {"Cookie": f"session={TOKEN}"}}, TOKEN, id="cookie-header"),
    pytest.param(
        {"headers": {"Authorization": f"Bearer {TOKEN}"}}, TOKEN, id="authorization-header"
    ),
    pytest.param(
        {"headers": {"X-Custom": TOKEN}, "secret_headers": ["X-Custom"]},
        TOKEN,
        id="operator-marked-header",
    ),
]


@pytest.mark.parametrize(("given", "secret"), AT_REST)
def test_secrets_are_encrypted_at_rest_and_redacted_in_the_api(
    api_db: Api, given: dict[str, Any], secret: str
) -> None:
    svc, chk = _seed(api_db, given)
    assert secret not in api_db.raw_rows()  # the raw database row: ciphertext only
    for text in (
        json.dumps(svc),
        json.dumps(chk),
        api_db.get(f"/services/{svc['id']}").get_data(as_text=True),
        api_db.get("/services").get_data(as_text=True),
        api_db.get(f"/services/{svc['id']}/checks").get_data(as_text=True),
    ):
        assert secret not in text
    shown = json.dumps([svc["url"], chk["options"]])
    assert "***" in shown
    assert secret in _full_options(api_db) or secret in repr(_targets(api_db))


def _seed(api: Api, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A service (``svc_url`` if given) and one health check with the other options."""
    options = dict(given)
    svc = api.service(options.pop("svc_url", "https://svc.example.com"))
    return svc, api.check(svc["id"], **options)


def _targets(api: Api) -> list[str]:
    from auditor.store.claims import claims_for

    return [c.target.url for c in claims_for(api.store)]


@pytest.mark.parametrize(("given", "secret"), AT_REST)
def test_secrets_are_redacted_on_dashboard_pages_and_forms(
    api: Api, given: dict[str, Any], secret: str
) -> None:
    svc, chk = _seed(api, given)
    c, _csrf_token = dashboard(api)
    pages = [
        c.get(f"/services/{svc['name']}"),
        c.get(f"/manage/services/{svc['name']}/edit"),
        c.get(f"/manage/checks/{chk['id']}/edit"),
        c.get("/?q=alice"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert secret not in page.get_data(as_text=True)


# -- 3. the dashboard's edit forms drop secrets on a move (CSRF included) ------------------


def test_dashboard_service_edit_to_another_host_drops_check_secrets(api: Api) -> None:
    svc = api.service()
    api.check(svc["id"], headers={"X-Api-Key": API_KEY})
    c, csrf = dashboard(api)
    form = {"name": "svc", "url": ATTACKER, "environment": "production", "enabled": "on"}
    r = c.post("/manage/services/svc/edit", data={**form, "csrf_token": csrf})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert "dropped=checks.api.options.headers.X-Api-Key" in r.headers["Location"]
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "Secrets dropped because the URL now points at another host" in page
    assert API_KEY not in _full_options(api)


def test_dashboard_service_edit_without_csrf_is_refused(api: Api) -> None:
    svc = api.service()
    api.check(svc["id"], headers={"X-Api-Key": API_KEY})
    c, _csrf_token = dashboard(api)
    r = c.post("/manage/services/svc/edit", data={"name": "svc", "url": ATTACKER})
    assert r.status_code in (400, 403)
    assert API_KEY in _full_options(api)


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        pytest.param(ATTACKER + "/x", False, id="dashboard-check-path-to-attacker-url"),
        pytest.param("/other", True, id="dashboard-check-path-same-host-keeps"),
    ],
)
def test_dashboard_check_edit_to_another_host_drops_its_secrets(
    api: Api, path: str, kept: bool
) -> None:
    svc = api.service()
    chk = api.check(svc["id"], headers={"X-Api-Key": API_KEY})
    c, csrf = dashboard(api)
    form = {
        "name": "api", "interval": "5m", "timeout": "10s", "severity": "high",
        "level": "bronze", "enabled": "on", "options": f'path = "{path}"', "csrf_token": csrf,
    }  # fmt: skip
    r = c.post(f"/manage/checks/{chk['id']}/edit", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    assert (API_KEY in _full_options(api)) is kept
    assert ("dropped=" in r.headers["Location"]) is not kept


# -- 4. run facts, findings, logs and exports ----------------------------------------------

LEAKY_PATHS = [
    pytest.param(f"/echo?token={TOKEN}", id="token-query"),
    pytest.param(f"/echo?api_key={TOKEN}", id="api_key-query"),
    pytest.param(f"/echo?x=1&sig={TOKEN}", id="sig-query"),
]


@pytest.mark.parametrize("path", LEAKY_PATHS)
def test_run_facts_never_hold_a_secret_even_when_the_target_echoes_it(
    api: Api, recorder: Recorder, path: str
) -> None:
    svc = api.service(recorder.url.replace("http://", f"http://alice:{USERPASS}@"))
    chk = api.check(
        svc["id"], path=path, headers={"X-Api-Key": API_KEY, "X-Custom": "CustomSecret-99"},
        secret_headers=["X-Custom"],
    )  # fmt: skip
    r = api.post(f"/services/{svc['id']}/checks/{chk['id']}/run", {})
    assert r.status_code == 201, r.json
    assert recorder.received(TOKEN) and recorder.received(API_KEY)  # the service got them
    run = r.json["data"]
    assert run["facts"]["body"]  # the echo (with every header) is in the facts …
    text = json.dumps(run) + api.get(f"/checks/{chk['id']}/runs").get_data(as_text=True)
    c, _csrf_token = dashboard(api)
    text += c.get(f"/runs/{run['id']}").get_data(as_text=True)
    with api.store.engine.connect() as conn:
        text += repr(conn.execute(sa.text("SELECT * FROM run")).all())
    for secret in (TOKEN, API_KEY, "CustomSecret-99", USERPASS):
        assert secret not in text  # … but never the secrets


REDIRECTED = [
    pytest.param("X-Custom", id="operator-marked-header-on-cross-origin-redirect"),
    pytest.param("X-Api-Key", id="x-api-key-on-cross-origin-redirect"),
    pytest.param("Authorization", id="authorization-on-cross-origin-redirect"),
    pytest.param("X-Tenant", id="unclassified-custom-header-on-cross-origin-redirect"),
]


@pytest.mark.parametrize("header", REDIRECTED)
def test_no_header_follows_a_redirect_to_another_host(
    api: Api, recorder: Recorder, header: str
) -> None:
    """The service redirects to "the other host": only Accept/User-Agent-like headers follow."""
    from tests.support import local_server

    def bounce(req: BaseHTTPRequestHandler) -> None:
        req.send_response(302)
        req.send_header("Location", recorder.url + "/landed")
        req.send_header("Content-Length", "0")
        req.end_headers()

    with local_server({"/go": bounce}) as home:
        svc = api.service(home)
        chk = api.check(
            svc["id"], path="/go", headers={header: API_KEY, "Accept": "application/json"},
            secret_headers=["X-Custom"],
        )  # fmt: skip
        r = api.post(f"/services/{svc['id']}/checks/{chk['id']}/run", {})
    assert r.status_code == 201, r.json
    assert recorder.paths == ["/landed"]  # the redirect was followed …
    assert recorder.seen[0].get("Accept") == "application/json"
    assert not recorder.received(API_KEY)  # … without the header


def test_logs_redact_url_credentials(capfd: pytest.CaptureFixture[str]) -> None:
    import structlog

    from auditor.logging import configure_logging

    before = structlog.get_config()
    configure_logging("info", json_output=True)
    structlog.configure(cache_logger_on_first_use=False)  # leave no cached logger behind
    try:
        structlog.get_logger("t").info(
            "probe", url=f"https://alice:{USERPASS}@h.example/p?token={TOKEN}&page=2",
            nested={"u": [f"see /x?api_key={TOKEN}"]},
        )  # fmt: skip
    finally:
        structlog.configure(**before)
    err = capfd.readouterr().err
    assert "probe" in err and "page=2" in err
    assert TOKEN not in err and USERPASS not in err


def test_audit_json_export_never_holds_a_secret(
    tmp_path: Any, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Config tier (trusted: secrets as written), but the export is redacted all the same."""
    import structlog
    from click.testing import CliRunner

    from auditor.cli import main
    from tests.hardening.daemon import write_config

    monkeypatch.setenv("AUDITOR_SECRET_KEY", KEY)
    config = write_config(
        tmp_path / "c.toml",
        {"database_url": f"sqlite:///{tmp_path}/a.db"},
        [
            {
                "name": "svc",
                "url": recorder.url.replace("http://", f"http://alice:{USERPASS}@"),
                "checks": [{"kind": "health", "path": f"/echo?token={TOKEN}"}],
            }
        ],
    )
    before = structlog.get_config()  # the CLI configures logging for the process
    try:
        result = CliRunner().invoke(main, ["audit", "--config", str(config), "--format", "json"])
        gate = CliRunner().invoke(
            main, ["gate", "svc", "--config", str(config), "--format", "json"]
        )
    finally:
        structlog.configure(**before)
    assert result.exit_code in (0, 1), result.output
    assert recorder.received(TOKEN)
    assert '"facts"' in result.output
    assert TOKEN not in result.output and USERPASS not in result.output
    assert TOKEN not in gate.output and USERPASS not in gate.output


# -- 5. the real daemon: the other host never receives the secret --------------------------


@pytest.mark.slow
def test_the_daemon_never_sends_a_moved_checks_secret_to_the_new_host(
    tmp_path: Any, recorder: Recorder
) -> None:
    import os
    import socket
    import subprocess
    import sys

    import httpx

    from tests.hardening.daemon import start, stop, wait_for, write_config

    with recording_server() as home:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        db = tmp_path / "d.db"
        config = write_config(
            tmp_path / "c.toml",
            {"database_url": f"sqlite:///{db}", "listen": f"127.0.0.1:{port}"},
            [],
        )
        env = {"AUDITOR_SECRET_KEY": KEY}
        token = subprocess.run(
            [sys.executable, "-m", "auditor", "token", "create", "--role", "operator", "--name",
             "ops", "--config", str(config)],
            capture_output=True, text=True, env={**os.environ, **env}, check=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}{V1}"
        proc = start("serve", config, env=env, log=tmp_path / "daemon.log")
        try:
            assert wait_for(
                lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200,
                30,
            )
            svc = httpx.post(f"{base}/services", json={"name": "svc", "url": home.url},
                             headers=auth, timeout=10).json()["data"]  # fmt: skip
            httpx.post(
                f"{base}/services/{svc['id']}/checks",
                json={"kind": "health", "name": "api", "interval": "1s", "timeout": "1s",
                      "options": {"headers": {"X-Api-Key": API_KEY}}},
                headers=auth, timeout=10,
            ).json()["data"]  # fmt: skip
            assert wait_for(lambda: home.received(API_KEY), 20), "the legitimate host got nothing"
            moved = httpx.patch(f"{base}/services/{svc['id']}", json={"url": recorder.url},
                                headers=auth, timeout=10).json()  # fmt: skip
            assert moved["meta"]["dropped_secrets"] == ["checks.api.options.headers.X-Api-Key"]
            assert wait_for(lambda: len(recorder.seen) >= 3, 20), "the check did not move"
            assert all("X-Api-Key" not in h for h in recorder.seen)
            assert not recorder.received(API_KEY)
            log = (tmp_path / "daemon.log").read_text()
            assert API_KEY not in log
        finally:
            stop(proc)


# -- 6. the classifier itself ----------------------------------------------------------------

CLASSIFIED = [
    pytest.param("https://u:p@h.example/x", "https://***@h.example/x", id="userinfo"),
    pytest.param("https://u@h.example/", "https://***@h.example/", id="user-only"),
    pytest.param("/x?token=a&page=2", "/x?token=***&page=2", id="token"),
    pytest.param("/x?access_token=a", "/x?access_token=***", id="access_token"),
    pytest.param("/x?apikey=a&APIKEY=b", "/x?apikey=***&APIKEY=***", id="apikey-any-case"),
    pytest.param("/x?X-Amz-Signature=a", "/x?X-Amz-Signature=***", id="signature"),
    pytest.param("/x?sig=a&design=b", "/x?sig=***&design=b", id="sig-segment-only"),
    pytest.param("/x?pwd=a&passwd=b", "/x?pwd=***&passwd=***", id="pwd-passwd"),
    pytest.param("/x?page=2&q=key", "/x?page=2&q=key", id="plain-query-untouched"),
    pytest.param(
        "GET https://h/x?auth=zz failed", "GET https://h/x?auth=*** failed", id="url-in-prose"
    ),
]


@pytest.mark.parametrize(("raw", "shown"), CLASSIFIED)
def test_redact_url(raw: str, shown: str) -> None:
    assert redact_url(raw) == shown
    assert has_secret(raw) is (raw != shown)


def test_header_and_query_rules() -> None:
    for name in ("Authorization", "cookie", "X-API-KEY", "X-Auth-Token", "Proxy-Authorization",
                 "X-Vault-Token", "X-Client-Secret"):  # fmt: skip
        assert is_secret_header(name), name
    assert not is_secret_header("Accept") and is_secret_header("X-Custom", ["x-custom"])
    assert is_secret_query_name("client_secret") and not is_secret_query_name("page")
    assert redact_headers({"Cookie": "a=b", "Accept": "x"}) == {"Cookie": "***", "Accept": "x"}
    assert strip_url_secrets("https://u:p@h/x?token=a&b=1") == "https://h/x?b=1"
    assert secret_values({"headers": {"Authorization": "Bearer abcdef"}}) == [
        "Bearer abcdef",
        "abcdef",
    ]
