"""Apprise receivers delivering for real: ``json://`` and ``form://`` to a local HTTP server,
``mailto://`` to a local SMTP server, an outage (nothing lost, nothing doubled), a hung
receiver cut off at its timeout, and the receiver URL kept out of logs, the API and the DB."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from auditor.alerting.dispatcher import Dispatcher
from auditor.alerting.history import list_deliveries
from auditor.config import ConfigError, parse_config
from auditor.store.db import Database
from tests.alerting.helpers import (
    T0,
    Clock,
    Recorder,
    add_transition,
    free_port,
    http_receiver,
    make_config,
    seed,
)

TOKEN = "tok-9f8e7d6c5b4a"  # what a real Apprise URL carries in its path, query or userinfo
FINDING = [{"code": "health.status", "severity": "high", "message": "HTTP 500"}]


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Database]:
    st = Database(sqlite_url)
    yield st
    st.close()


def apprise_cfg(url: str | None = None, url_env: str | None = None, **kw: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {"name": "ap", "type": "apprise", **kw}
    if url:
        cfg["url"] = url
    if url_env:
        cfg["url_env"] = url_env
    return cfg


def test_json_url_delivers_firing_then_resolved_with_the_alert_id(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = seed(store)
    port = free_port()
    monkeypatch.setenv("TEST_APPRISE_URL", f"json://127.0.0.1:{port}/hook/{TOKEN}")
    d = Dispatcher(store, make_config(apprise_cfg(url_env="TEST_APPRISE_URL")), clock=Clock())
    fired = add_transition(store, checks["health"], "pass", "fail", T0, FINDING)
    resolved = add_transition(store, checks["health"], "fail", "pass", T0 + timedelta(minutes=5))
    rec = Recorder()
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 2
    assert [r["path"] for r in rec.requests] == [f"/hook/{TOKEN}"] * 2
    assert [r["headers"]["x-auditor-alert-id"] for r in rec.requests] == [fired, resolved]
    first, second = (json.loads(r["body"]) for r in rec.requests)
    assert first["title"] == "[auditor] FAIL payments-api/health (health, was pass)"
    assert first["type"] == "failure" and second["type"] == "success"
    assert "[high] health.status: HTTP 500" in first["message"]
    assert "https://auditor.example/services/payments-api" in first["message"]
    assert second["title"].startswith("[auditor] RESOLVED payments-api/health")
    rows, _ = list_deliveries(store)
    assert {r["status"] for r in rows} == {"delivered"}
    assert {r["target"] for r in rows} == {"$TEST_APPRISE_URL"}


def test_form_url_delivers_a_form_post(store: Database) -> None:
    checks = seed(store)
    port = free_port()
    d = Dispatcher(
        store, make_config(apprise_cfg(url=f"form://127.0.0.1:{port}/notify")), clock=Clock()
    )
    tid = add_transition(store, checks["health"], "pass", "warn", T0)
    add_transition(store, checks["health"], "warn", "fail", T0 + timedelta(seconds=1))
    rec = Recorder()
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 1  # warn is not an alert for a health check; fail is
    (req,) = rec.requests
    form = {k: v[0] for k, v in parse_qs(req["body"].decode()).items()}
    assert req["path"] == "/notify" and req["headers"]["content-type"].startswith(
        "application/x-www-form-urlencoded"
    )
    assert form["title"].startswith("[auditor] FAIL payments-api/health")
    assert form["type"] == "failure" and "state:    fail (was warn)" in form["message"]
    assert req["headers"]["x-auditor-alert-id"] != tid
    rows, _ = list_deliveries(store)
    assert rows[0]["target"] == "form://…"


class Smtp:
    """A local SMTP server (aiosmtpd) recording each message."""

    def __init__(self, refuse: set[str] | None = None, **kw: Any) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[dict[str, Any]] = []
        self.refuse = refuse or set()  # recipients refused (550) until removed
        self.port = free_port()
        outer = self

        class Handler:
            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                if address in outer.refuse:
                    return "550 mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.received.append(
                    {"to": envelope.rcpt_tos, "from": envelope.mail_from,
                     "data": envelope.content.decode()}
                )  # fmt: skip
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **kw)

    def __enter__(self) -> Smtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def test_mailto_url_delivers_to_a_local_smtp_server(store: Database) -> None:
    checks = seed(store)
    with Smtp() as smtp:
        url = (
            f"mailto://127.0.0.1:{smtp.port}?mode=insecure&from=auditor@example.com"
            "&to=ops@example.com,dba@example.com"
        )
        d = Dispatcher(store, make_config(apprise_cfg(url=url)), clock=Clock())
        tid = add_transition(store, checks["health"], "pass", "fail", T0, FINDING)
        assert asyncio.run(d.tick()) == 1
    assert sorted(m["to"][0] for m in smtp.received) == ["dba@example.com", "ops@example.com"]
    mail = smtp.received[0]  # Apprise sends one message per recipient
    assert mail["from"] == "auditor@example.com"
    assert "Subject: [auditor] FAIL payments-api/health" in mail["data"]
    assert f"X-Auditor-Alert-Id: {tid}" in mail["data"]
    assert "health.status: HTTP 500" in mail["data"]


def test_a_recipient_refused_once_gets_it_on_retry_and_the_other_not_twice(
    store: Database,
) -> None:
    checks = seed(store)
    clock = Clock()
    with Smtp(refuse={"dba@example.com"}) as smtp:
        cfg = {
            "name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
            "starttls": False, "from": "auditor@example.com",
            "to": ["ops@example.com", "dba@example.com"],
        }  # fmt: skip
        d = Dispatcher(store, make_config(cfg), clock=clock, backoff_base_s=1)
        add_transition(store, checks["health"], "pass", "fail", T0)
        assert asyncio.run(d.tick()) == 0
        rows, _ = list_deliveries(store)
        assert rows[0]["status"] == "pending" and "dba@example.com" in rows[0]["last_error"]
        smtp.refuse.clear()
        clock.advance(1)
        assert asyncio.run(d.tick()) == 1
    assert [m["to"] for m in smtp.received] == [["ops@example.com"], ["dba@example.com"]]


def test_email_receiver_logs_in_with_a_password_that_is_never_stored(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``email`` keys become a mailto URL; a password with URL metacharacters survives."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    password = f"p@ss:w/rd%?{TOKEN}"
    logins: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Any, env: Any, mech: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password.decode() == password)

    monkeypatch.setenv("TEST_SMTP_USER", "alerts@example.com")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", password)
    checks = seed(store)
    with Smtp(authenticator=authenticator, auth_require_tls=False) as smtp:
        cfg = {
            "name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
            "starttls": False, "username_env": "TEST_SMTP_USER",
            "password_env": "TEST_SMTP_PASSWORD", "from": "auditor@example.com",
            "to": ["ops@example.com"],
        }  # fmt: skip
        d = Dispatcher(store, make_config(cfg), clock=Clock())
        add_transition(store, checks["health"], "pass", "fail", T0)
        assert asyncio.run(d.tick()) == 1
    assert logins == [("alerts@example.com", password)]
    assert smtp.received[0]["to"] == ["ops@example.com"]
    rows, _ = list_deliveries(store)
    assert rows[0]["target"] == f"smtp://127.0.0.1:{smtp.port}"
    assert TOKEN not in json.dumps(rows)


def test_a_wrong_smtp_password_is_retried_with_a_reason_and_no_password(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiosmtpd.smtp import AuthResult

    monkeypatch.setenv("TEST_SMTP_USER", "alerts")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", f"wrong-{TOKEN}")
    checks = seed(store)
    with Smtp(
        authenticator=lambda *a: AuthResult(success=False, handled=False), auth_require_tls=False
    ) as smtp:
        cfg = {
            "name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
            "starttls": False, "username_env": "TEST_SMTP_USER",
            "password_env": "TEST_SMTP_PASSWORD", "from": "a@example.com", "to": ["b@example.com"],
        }  # fmt: skip
        d = Dispatcher(store, make_config(cfg), clock=Clock())
        add_transition(store, checks["health"], "pass", "fail", T0)
        assert asyncio.run(d.tick()) == 0
    assert smtp.received == []
    rows, _ = list_deliveries(store)
    assert rows[0]["status"] == "pending" and rows[0]["attempts"] == 1
    assert "SMTP 535" in rows[0]["last_error"] and TOKEN not in rows[0]["last_error"]


def test_outage_then_recovery_delivers_everything_once_in_order(db_url: str) -> None:
    """The receiver is down (refused), then answers 503, then comes back."""
    store = Database(db_url)
    try:
        checks = seed(store, checks=("health", "ready"))
        port = free_port()
        clock = Clock()
        cfg = apprise_cfg(url=f"json://127.0.0.1:{port}/in/{TOKEN}")
        d = Dispatcher(store, make_config(cfg), clock=clock, backoff_base_s=1, backoff_max_s=8)
        ids = [
            add_transition(store, checks["health"], "pass", "fail", T0 - timedelta(seconds=30)),
            add_transition(store, checks["ready"], "unknown", "fail", T0 - timedelta(seconds=20)),
            add_transition(store, checks["health"], "fail", "pass", T0 - timedelta(seconds=10)),
        ]

        async def scenario() -> Recorder:
            assert await d.tick() == 0
            for step in (1.0, 2.0):
                assert await d.tick() == 0  # backing off: not attempted
                clock.advance(step)
                assert await d.tick() == 0
            rows, total = list_deliveries(store, receiver="ap")
            head = next(r for r in rows if r["alert_id"] == ids[0])
            assert total == 3 and {r["status"] for r in rows} == {"pending"}
            assert head["attempts"] == 3 and "refused" in (head["last_error"] or "")
            assert all(r["attempts"] == 0 for r in rows if r["alert_id"] != ids[0])
            rec = Recorder(status=503)
            with http_receiver(port, rec):
                clock.advance(4.0)
                assert await d.tick() == 0
                rows, _ = list_deliveries(store, receiver="ap")
                head = next(r for r in rows if r["alert_id"] == ids[0])
                assert head["last_status_code"] == 503 and "503" in head["last_error"]
                rec.status = 200
                clock.advance(8.0)
                assert await d.tick() == 3
                clock.advance(3600)
                assert await d.tick() == 0  # nothing twice
            return rec

        rec = asyncio.run(scenario())
        delivered = [r for r in rec.requests if r["status"] == 200]
        assert [r["headers"]["x-auditor-alert-id"] for r in delivered] == ids
        assert [json.loads(r["body"])["type"] for r in delivered] == [
            "failure", "failure", "success"
        ]  # fmt: skip
        rows, _ = list_deliveries(store, status="delivered")
        assert len(rows) == 3 and TOKEN not in json.dumps(rows)
    finally:
        store.close()


def _silent_server(port: int, stop: threading.Event) -> threading.Thread:
    """Accepts connections and never answers."""
    srv = socket.create_server(("127.0.0.1", port))
    srv.settimeout(0.2)
    held: list[socket.socket] = []

    def serve() -> None:
        with srv:
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                    held.append(conn)
                except TimeoutError:
                    continue
        for c in held:
            c.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_hung_receiver_is_cut_off_at_its_timeout_and_others_still_deliver(
    store: Database,
) -> None:
    checks = seed(store)
    hung, ok = free_port(), free_port()
    cfgs = [
        apprise_cfg(url=f"json://127.0.0.1:{hung}/x", timeout=1),
        {**apprise_cfg(url=f"json://127.0.0.1:{ok}/y"), "name": "ok"},
    ]
    d = Dispatcher(store, make_config(*cfgs), clock=Clock())
    add_transition(store, checks["health"], "pass", "fail", T0)
    stop = threading.Event()
    thread = _silent_server(hung, stop)
    rec = Recorder()
    try:
        with http_receiver(ok, rec):
            started = time.monotonic()
            assert asyncio.run(asyncio.wait_for(d.tick(), 10)) == 1
            assert time.monotonic() - started < 5
    finally:
        stop.set()
        thread.join(5)
    assert len(rec.requests) == 1
    rows, _ = list_deliveries(store, receiver="ap")
    assert rows[0]["status"] == "pending" and "timeout" in (rows[0]["last_error"] or "").lower()


def test_a_receiver_address_the_policy_refuses_fails_for_good(store: Database) -> None:
    checks = seed(store)
    d = Dispatcher(
        store, make_config(apprise_cfg(url="json://169.254.169.254/latest")), clock=Clock()
    )
    add_transition(store, checks["health"], "pass", "fail", T0)
    assert asyncio.run(d.tick()) == 0
    rows, _ = list_deliveries(store)
    assert rows[0]["status"] == "failed" and "blocked_by_policy" in rows[0]["last_error"]


# -- the URL is a secret: not in logs, the API, or the database -----------------------------------


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_receiver_url_is_in_no_log_no_api_answer_and_not_in_the_database(
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import structlog
    from cryptography.fernet import Fernet

    from auditor.logging import configure_logging
    from auditor.store.accounts import create_token
    from web import create_app

    port = free_port()
    user, password = "bob", f"pw-{TOKEN}"
    url = f"json://{user}:{password}@127.0.0.1:{port}/hooks/{TOKEN}?-key={TOKEN}x"
    monkeypatch.setenv("TEST_SECRET_APPRISE_URL", url)
    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    db = tmp_path / "secret.db"
    store = Database(f"sqlite:///{db}")
    before = structlog.get_config()
    configure_logging("debug", json_output=True)
    structlog.configure(cache_logger_on_first_use=False)
    caplog.set_level(logging.DEBUG)
    attached = Collect()  # a handler someone attaches to Apprise's logger (an embedding app)
    logging.getLogger("apprise").addHandler(attached)
    try:
        checks = seed(store)
        clock = Clock()
        d = Dispatcher(
            store,
            make_config(apprise_cfg(url_env="TEST_SECRET_APPRISE_URL")),
            clock=clock,
            backoff_base_s=1,
        )
        add_transition(store, checks["health"], "pass", "fail", T0)
        assert asyncio.run(d.tick()) == 0  # refused: the failure is logged and recorded
        rec = Recorder(status=500)
        with http_receiver(port, rec):
            clock.advance(1)
            assert asyncio.run(d.tick()) == 0  # a 500: logged and recorded again
            rec.status = 200
            clock.advance(2)
            assert asyncio.run(d.tick()) == 1
        assert rec.requests[-1]["path"] == f"/hooks/{TOKEN}?key={TOKEN}x"  # it did go there
        app = create_app(parse_config({}, environ={}), store, test_config={"TESTING": True})
        token = create_token(store, name="v", role="viewer")[1]
        api = app.test_client().get(
            "/api/v1/alert-deliveries", headers={"Authorization": f"Bearer {token}"}
        )
        assert api.status_code == 200 and len(api.json["data"]) == 1
        api_text = api.get_data(as_text=True)
    finally:
        logging.getLogger("apprise").removeHandler(attached)
        structlog.configure(**before)
        store.close()
    err = capfd.readouterr().err
    apprise_said = "\n".join(attached.lines)
    logs = err + caplog.text + apprise_said
    assert "alert_delivery_failed" in err and "refused" in err
    # Apprise's own records (which name the URL) exist, never reach the daemon's log (stderr),
    # and reach a handler attached to Apprise's logger (this one, pytest's) only scrubbed
    assert "JSON POST URL" in apprise_said and "JSON POST URL" not in err
    for secret in (TOKEN, password):
        assert secret not in logs
        assert secret not in api_text
        assert secret.encode() not in db.read_bytes()
        for extra in db.parent.glob("secret.db-*"):  # WAL / shm files
            assert secret.encode() not in extra.read_bytes()


# -- configuration ---------------------------------------------------------------------------------


def _problems(receiver: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config({"alerting": {"receivers": [receiver]}}, environ=environ or {})
    return info.value.problems


def test_config_errors_name_the_field_and_never_echo_the_url() -> None:
    at = "alerting.receivers[0]"
    unknown = _problems(apprise_cfg(url=f"nosuchservice://{TOKEN}"))
    assert unknown == [
        f"{at}.url: Apprise does not accept this nosuchservice:// URL (unknown service, or a "
        "token or field missing); see https://appriseit.com/services/"
    ]
    assert _problems(apprise_cfg(url=f"just-a-token-{TOKEN}")) == [
        f"{at}.url: is not an Apprise URL (expected scheme://…, e.g. ntfy://host/topic)"
    ]
    assert _problems(apprise_cfg(url_env="NOT_SET_ANYWHERE")) == [
        f"{at}.url_env: environment variable NOT_SET_ANYWHERE (Apprise URL of receiver 'ap') "
        "is not set or empty"
    ]
    bad_env = _problems(apprise_cfg(url_env="AP_URL"), {"AP_URL": f"tgram://{TOKEN}"})
    assert bad_env[0].startswith(f"{at}.url_env: AP_URL: Apprise does not accept this tgram://")
    assert _problems({"name": "ap", "type": "apprise"}) == [
        f"{at}: a apprise receiver needs url or url_env"
    ]
    slack = _problems({"name": "chat", "type": "slack", "url": f"ftp://{TOKEN}"})
    assert slack[0].startswith(f"{at}: a slack receiver takes a Slack incoming-webhook URL")
    assert all(TOKEN not in p for p in unknown + bad_env + slack)


def test_valid_apprise_urls_load() -> None:
    for url in (
        "ntfy://ntfy.internal/deploys",
        "slack://T000/B000/XXXX",
        "mailtos://user:pass@smtp.example.com?to=ops@example.com",
        "json://127.0.0.1:8080/x",
    ):
        config = parse_config({"alerting": {"receivers": [apprise_cfg(url=url)]}}, environ={})
        assert config.alerting.receivers[0].type == "apprise"


# -- Slack's own webhook, reached through a local HTTPS proxy -------------------------------------


class SlackOverProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 that terminates TLS for hooks.slack.com itself
    (certificate from a local CA) and answers like Slack: ``ok``. Nothing leaves the host."""

    def __init__(self, ca: Any) -> None:
        import ssl

        self.requests: list[dict[str, Any]] = []
        self.tunnels: list[str] = []
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("hooks.slack.com").configure_cert(self.ctx)
        self.port = free_port()
        self.srv = socket.create_server(("127.0.0.1", self.port))
        self.srv.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.srv.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                head = self._read_head(conn)
                self.tunnels.append(head.split(b"\r\n", 1)[0].decode())
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    head = self._read_head(tls)
                    lines = head.decode().split("\r\n")
                    headers = dict(h.lower().split(": ", 1) for h in lines[1:] if ": " in h)
                    body = head.split(b"\r\n\r\n", 1)[1]
                    while len(body) < int(headers.get("content-length", "0")):
                        body += tls.recv(65536)
                    self.requests.append({"line": lines[0], "body": json.loads(body)})
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    @staticmethod
    def _read_head(conn: Any) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def __enter__(self) -> SlackOverProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        self.srv.close()


def test_slack_receiver_posts_to_slacks_webhook_through_apprise(
    store: Database, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trustme

    token = "Xk9f8e7d6c5b4a3z"  # Slack's tokens are alphanumeric
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    checks = seed(store)
    with SlackOverProxy(ca) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        hook = f"https://hooks.slack.com/services/T000/B000/{token}"
        monkeypatch.setenv("TEST_SLACK_HOOK", hook)
        cfg = {"name": "chat", "type": "slack", "url_env": "TEST_SLACK_HOOK"}
        d = Dispatcher(store, make_config(cfg), clock=Clock())
        add_transition(store, checks["health"], "pass", "fail", T0, FINDING)
        assert asyncio.run(d.tick()) == 1
    assert [t.rsplit(" ", 1)[0] for t in proxy.tunnels] == ["CONNECT hooks.slack.com:443"]
    (req,) = proxy.requests
    assert req["line"] == f"POST /services/T000/B000/{token} HTTP/1.1"
    text = json.dumps(req["body"])
    assert "[auditor] FAIL payments-api/health" in text and "health.status: HTTP 500" in text
    rows, _ = list_deliveries(store)
    assert rows[0]["status"] == "delivered" and token not in json.dumps(rows)


def test_email_starttls_refuses_a_certificate_it_cannot_verify(
    store: Database, tmp_path: Any
) -> None:
    import ssl

    from tests.alerting.test_receivers import self_signed

    cert, key = self_signed(tmp_path)  # not trusted: SSL_CERT_FILE is not pointed at it
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    checks = seed(store)
    with Smtp(tls_context=ctx, require_starttls=True) as smtp:
        cfg = {
            "name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
            "from": "a@example.com", "to": ["b@example.com"],
        }  # fmt: skip
        d = Dispatcher(store, make_config(cfg), clock=Clock())
        add_transition(store, checks["health"], "pass", "fail", T0)
        assert asyncio.run(d.tick()) == 0
    assert smtp.received == []
    rows, _ = list_deliveries(store)
    assert rows[0]["status"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in rows[0]["last_error"]


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("tgram://123456789:AAHsecretBotKey42/987654321", ["AAHsecretBotKey42", "987654321"]),
        ("discord://112233445566/secretWebhookToken42", ["secretWebhookToken42"]),
        ("ntfys://alerts-topic-secret42?token=tk_secret42", ["alerts-topic-secret42", "tk_secret42"]),
        ("pover://usersecret42abcdefghijklmnopq@apptoken42abcdefghijklmnopq",
         ["usersecret42abcdefghijklmnopq", "apptoken42abcdefghijklmnopq"]),
    ],
)  # fmt: skip
def test_cloud_service_tokens_stay_out_of_the_reason_and_apprises_log(
    url: str, secrets: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent through a proxy that is down (nothing leaves the host): Apprise logs the
    service's endpoint with the token in it; neither the reason nor any record keeps it."""
    from auditor.alerting.apprise_send import Message, deliver
    from auditor.alerting.base import DeliveryError
    from auditor.config.apprise_urls import url_secrets

    dead = f"http://127.0.0.1:{free_port()}"
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(var, dead)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    attached = Collect()
    logging.getLogger("apprise").addHandler(attached)
    try:
        with pytest.raises(DeliveryError) as info:
            deliver(url, Message("t", "b", "failure", "id-1"), timeout=3, secrets=url_secrets(url))
    finally:
        logging.getLogger("apprise").removeHandler(attached)
    said = "\n".join(attached.lines)
    assert "URL" in said and not info.value.permanent  # endpoints were logged; retried
    for secret in secrets:
        assert secret not in info.value.message and secret not in said
