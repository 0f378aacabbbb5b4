"""Receivers against real local servers: SMTP with STARTTLS (aiosmtpd), Alertmanager v2 fake,
Slack (both through Apprise); plus reminders, maintenance windows, routing and TLS threshold alerts."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.alerting.dispatcher import Dispatcher
from auditor.alerting.history import list_deliveries
from auditor.alerting.maintenance import Window
from auditor.alerting.outbox import acknowledge
from auditor.alerting.rules import classify
from auditor.schedule.rules import COMPLETION_RULES
from auditor.store.db import Database
from auditor.store.runs import complete
from checks.base import Finding
from tests.alerting.helpers import (
    T0,
    Clock,
    Recorder,
    add_transition,
    free_port,
    http_receiver,
    make_config,
    run_result,
    seed,
)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Database]:
    st = Database(sqlite_url)
    yield st
    st.close()


# -- e-mail over a real SMTP server with STARTTLS ------------------------------------------------


def self_signed(tmp: Path) -> tuple[str, str]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "smtp.crt", tmp / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_email_over_starttls(
    store: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiosmtpd.controller import Controller

    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # the client verifies the server certificate
    received: list[dict[str, Any]] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(
                {
                    "tls": session.ssl is not None,
                    "to": envelope.rcpt_tos,
                    "data": envelope.content.decode(),
                }
            )
            return "250 OK"

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True
    )
    controller.start()
    try:
        checks = seed(store)
        cfg = {
            "name": "mail",
            "type": "email",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "from": "auditor@example.com",
            "to": ["ops@example.com"],
        }
        d = Dispatcher(store, make_config(cfg), clock=Clock())
        tid = add_transition(
            store,
            checks["health"],
            "pass",
            "fail",
            T0,
            [{"code": "health.status", "severity": "high", "message": "HTTP 500"}],
        )
        assert asyncio.run(d.tick()) == 1
    finally:
        controller.stop()
    assert len(received) == 1
    mail = received[0]
    assert mail["tls"] and mail["to"] == ["ops@example.com"]
    assert "Subject: [auditor] FAIL payments-api/health" in mail["data"]
    assert (
        "health.status: HTTP 500" in mail["data"] and f"X-Auditor-Alert-Id: {tid}" in mail["data"]
    )


def test_email_refuses_server_without_starttls(store: Database) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            raise AssertionError("must not send in clear text")

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        checks = seed(store)
        cfg = {
            "name": "mail",
            "type": "email",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "from": "a@example.com",
            "to": ["b@example.com"],
        }
        d = Dispatcher(store, make_config(cfg), clock=Clock())
        add_transition(store, checks["health"], "pass", "fail", T0)
        assert asyncio.run(d.tick()) == 0
    finally:
        controller.stop()
    rows, _ = list_deliveries(store)
    assert rows[0]["status"] == "pending" and "STARTTLS" in rows[0]["last_error"]


# -- Alertmanager v2 against a schema-validating fake --------------------------------------------


def _rfc3339(value: Any) -> bool:
    try:
        return (
            isinstance(value, str)
            and dt.datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
        )
    except ValueError:
        return False


def validate_postable_alerts(path: str, headers: dict[str, str], body: bytes) -> str | None:
    """The OpenAPI v2 ``postableAlerts`` schema, checked by hand."""
    if path != "/api/v2/alerts":
        return f"wrong path {path}"
    if headers.get("content-type") != "application/json":
        return "content-type"
    doc = json.loads(body)
    if not isinstance(doc, list) or not doc:
        return "body must be a non-empty array"
    allowed = {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
    for alert in doc:
        if set(alert) - allowed:
            return f"unknown fields {set(alert) - allowed}"
        labels = alert.get("labels")
        if (
            not isinstance(labels, dict)
            or not labels
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
        ):
            return "labels must be a non-empty map of strings"
        if "annotations" in alert and not all(
            isinstance(v, str) for v in alert["annotations"].values()
        ):
            return "annotations must be strings"
        for key in ("startsAt", "endsAt"):
            if key in alert and not _rfc3339(alert[key]):
                return f"{key} must be RFC 3339"
        if "generatorURL" in alert and not str(alert["generatorURL"]).startswith(
            ("http://", "https://")
        ):
            return "generatorURL must be a URI"
    return None


def test_alertmanager_firing_then_resolved(store: Database) -> None:
    checks = seed(store)
    port = free_port()
    rec = Recorder(validate=validate_postable_alerts)
    cfg = {"name": "am", "type": "alertmanager", "url": f"http://127.0.0.1:{port}"}
    d = Dispatcher(store, make_config(cfg), clock=Clock())
    add_transition(store, checks["health"], "pass", "fail", T0)
    add_transition(store, checks["health"], "fail", "pass", T0 + timedelta(minutes=5))
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 2
    assert [r["problem"] for r in rec.requests] == [None, None]
    firing, resolved = (json.loads(r["body"])[0] for r in rec.requests)
    assert firing["labels"] == resolved["labels"]  # same alert for Alertmanager
    assert (
        firing["labels"]["alertname"] == "AuditorCheckFailing"
        and firing["labels"]["severity"] == "critical"
    )
    assert "endsAt" not in firing
    assert resolved["endsAt"] == "2026-11-27T12:05:00Z"


def test_slack_compatible_webhook_gets_a_text_message(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slack receiver whose URL is not hooks.slack.com (Mattermost, Rocket.Chat, a relay)
    gets ``{"text": …}`` through Apprise's JSON service."""
    checks = seed(store)
    port = free_port()
    rec = Recorder()
    cfg = {"name": "chat", "type": "slack", "url_env": "TEST_SLACK_URL"}
    monkeypatch.setenv("TEST_SLACK_URL", f"http://127.0.0.1:{port}/services/T000/B000/XXXX")
    d = Dispatcher(store, make_config(cfg), clock=Clock())
    tid = add_transition(store, checks["health"], "pass", "fail", T0)
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 1
    assert rec.requests[0]["path"] == "/services/T000/B000/XXXX"
    msg = json.loads(rec.requests[0]["body"])
    assert list(msg) == ["text"]
    assert msg["text"].startswith("[auditor] FAIL payments-api/health (health, was pass)\n")
    assert "dashboard: https://auditor.example/services/payments-api" in msg["text"]
    assert rec.requests[0]["headers"]["x-auditor-alert-id"] == tid
    rows, _ = list_deliveries(store)
    assert "XXXX" not in json.dumps(rows) and rows[0]["target"] == "$TEST_SLACK_URL"


# -- behaviour: routing, resolve, reminders, maintenance, TLS thresholds --------------------------


def test_routing_by_match(store: Database) -> None:
    prod = seed(store, "prod-api")
    stage = seed(store, "stage-api", environment="staging")
    cfgs = [
        {
            "name": "prod",
            "type": "webhook",
            "unsigned": True,
            "url": "http://127.0.0.1:9/x",
            "match": {"environment": ["production"]},
        },
        {
            "name": "tier1",
            "type": "webhook",
            "unsigned": True,
            "url": "http://127.0.0.1:9/x",
            "match": {"tag": ["tier-1"], "severity": ["critical"]},
        },
        {
            "name": "low",
            "type": "webhook",
            "unsigned": True,
            "url": "http://127.0.0.1:9/x",
            "match": {"severity": ["low"]},
        },
    ]
    d = Dispatcher(store, make_config(*cfgs), clock=Clock())
    add_transition(store, prod["health"], "pass", "fail", T0)
    add_transition(store, stage["health"], "pass", "fail", T0)
    d.plan_transitions(T0)
    rows, _ = list_deliveries(store, limit=100)
    assert sorted((r["service"], r["receiver"]) for r in rows) == [
        ("prod-api", "prod"),
        ("prod-api", "tier1"),
        ("stage-api", "tier1"),
    ]


def test_send_resolved_false_and_no_resolve_without_firing(store: Database) -> None:
    checks = seed(store)
    cfg = {
        "name": "quiet",
        "type": "webhook",
        "unsigned": True,
        "url": "http://127.0.0.1:9/x",
        "send_resolved": False,
    }
    d = Dispatcher(store, make_config(cfg), clock=Clock())
    add_transition(store, checks["health"], "unknown", "pass", T0)  # new and fine: nothing
    add_transition(
        store, checks["health"], "pass", "warn", T0 + timedelta(seconds=1)
    )  # warn: nothing
    add_transition(store, checks["health"], "warn", "fail", T0 + timedelta(seconds=2))
    add_transition(store, checks["health"], "fail", "pass", T0 + timedelta(seconds=3))
    d.plan_transitions(T0 + timedelta(seconds=5))
    rows, _ = list_deliveries(store)
    assert [(r["alert_status"], r["previous_state"]) for r in rows] == [("firing", "warn")]


def test_reminders_every_repeat_interval(store: Database) -> None:
    checks = seed(store)
    clock = Clock()
    port = free_port()
    cfg = {
        "name": "ops",
        "type": "webhook",
        "unsigned": True,
        "url": f"http://127.0.0.1:{port}/x",
        "repeat_interval": "4h",
    }
    d = Dispatcher(store, make_config(cfg), clock=clock)
    tid = add_transition(store, checks["health"], "pass", "fail", T0)
    rec = Recorder()
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 1
        clock.advance(3 * 3600)
        assert asyncio.run(d.tick()) == 0
        clock.advance(3600)
        assert asyncio.run(d.tick()) == 1
        assert asyncio.run(d.tick()) == 0
        clock.advance(4 * 3600)
        assert asyncio.run(d.tick()) == 1
        add_transition(store, checks["health"], "fail", "pass", clock.now)
        clock.advance(5 * 3600)
        assert asyncio.run(d.tick()) == 1  # the resolve, and no more reminders
        clock.advance(5 * 3600)
        assert asyncio.run(d.tick()) == 0
    ids = [json.loads(r["body"])["id"] for r in rec.requests]
    assert ids[:3] == [tid, f"{tid}:reminder:1", f"{tid}:reminder:2"]
    assert [json.loads(r["body"])["status"] for r in rec.requests] == ["firing"] * 3 + ["resolved"]


def test_a_recovery_still_in_the_outbox_is_resolved_under_its_own_id(store: Database) -> None:
    """The reminder pass may run between a run's commit and the transition planner: the
    recovery must go out once, as its own transition, not as a late resolve."""
    checks = seed(store)
    clock = Clock()
    port = free_port()
    cfg = {"name": "ops", "type": "webhook", "unsigned": True, "url": f"http://127.0.0.1:{port}/x",
           "repeat_interval": "1h"}  # fmt: skip
    d = Dispatcher(store, make_config(cfg), clock=clock)
    fired = add_transition(store, checks["health"], "pass", "fail", T0)
    rec = Recorder()
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 1
        clock.advance(2 * 3600)
        recovered = add_transition(store, checks["health"], "fail", "pass", clock.now)
        assert d.plan_reminders(clock.now) == 0  # neither a reminder nor a late resolve
        assert asyncio.run(d.tick()) == 1
        clock.advance(2 * 3600)
        assert asyncio.run(d.tick()) == 0
    assert [json.loads(r["body"])["id"] for r in rec.requests] == [fired, recovered]


def test_acknowledged_alert_gets_no_reminders_until_it_reopens(store: Database) -> None:
    checks = seed(store)
    clock = Clock()
    port = free_port()
    cfg = {"name": "ops", "type": "webhook", "unsigned": True, "url": f"http://127.0.0.1:{port}/x",
           "repeat_interval": "1h"}  # fmt: skip
    d = Dispatcher(store, make_config(cfg), clock=clock)
    first = add_transition(store, checks["health"], "pass", "fail", T0)
    rec = Recorder()
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 1
        clock.advance(1800)
        acknowledge(store, checks["health"].id, first, "alice", clock.now)
        clock.advance(5 * 3600)
        assert asyncio.run(d.tick()) == 0  # acknowledged: nobody is paged again
        add_transition(store, checks["health"], "fail", "pass", clock.now)
        clock.advance(60)
        add_transition(store, checks["health"], "pass", "fail", clock.now)
        assert asyncio.run(d.tick()) == 2  # the resolve, then the new alert
        clock.advance(3600)
        assert asyncio.run(d.tick()) == 1  # the old acknowledgement does not cover it
    bodies = [json.loads(r["body"]) for r in rec.requests]
    assert [b["status"] for b in bodies] == ["firing", "resolved", "firing", "firing"]
    assert bodies[-1]["id"].endswith(":reminder:1")


def test_maintenance_suppresses_and_delivers_nothing_stale(store: Database) -> None:
    checks = seed(store)
    clock = Clock()
    port = free_port()
    window = {
        "name": "deploy",
        "services": ["payments-api"],
        "start": "2026-11-27T12:00:00Z",
        "end": "2026-11-27T13:00:00Z",
    }
    cfg = {
        "name": "ops",
        "type": "webhook",
        "unsigned": True,
        "url": f"http://127.0.0.1:{port}/x",
        "repeat_interval": "4h",
    }
    d = Dispatcher(store, make_config(cfg, maintenance=[window]), clock=clock)
    rec = Recorder()
    with http_receiver(port, rec):
        add_transition(store, checks["health"], "pass", "fail", T0 + timedelta(minutes=10))
        clock.advance(15 * 60)
        assert asyncio.run(d.tick()) == 0
        add_transition(store, checks["health"], "fail", "pass", T0 + timedelta(minutes=20))
        clock.advance(15 * 60)
        assert asyncio.run(d.tick()) == 0
        clock.advance(3 * 3600)  # window over: nothing stale arrives
        assert asyncio.run(d.tick()) == 0
    assert rec.requests == []
    rows, _ = list_deliveries(store)
    assert [r["status"] for r in rows] == [
        "suppressed"
    ]  # the firing; the resolve had nothing to close


@pytest.mark.parametrize("repeat", [None, "4h"])
def test_failure_begun_in_window_is_announced_when_it_ends(
    store: Database, repeat: str | None
) -> None:
    checks = seed(store)
    clock = Clock()
    port = free_port()
    window = {
        "name": "deploy",
        "services": ["payments-api"],
        "start": "2026-11-27T12:00:00Z",
        "end": "2026-11-27T13:00:00Z",
    }
    cfg: dict[str, Any] = {
        "name": "ops",
        "type": "webhook",
        "unsigned": True,
        "url": f"http://127.0.0.1:{port}/x",
    }
    if repeat:
        cfg["repeat_interval"] = repeat
    d = Dispatcher(store, make_config(cfg, maintenance=[window]), clock=clock)
    rec = Recorder()
    with http_receiver(port, rec):
        tid = add_transition(store, checks["health"], "pass", "fail", T0 + timedelta(minutes=10))
        clock.advance(15 * 60)
        assert asyncio.run(d.tick()) == 0  # inside the window: suppressed
        clock.advance(3600)  # window over, still failing: announced once, with a new id
        assert asyncio.run(d.tick()) == 1
        assert asyncio.run(d.tick()) == 0
        clock.advance(3 * 3600)  # reminders count from the announcement, not the failure
        assert asyncio.run(d.tick()) == 0
        clock.advance(7 * 3600)
        assert asyncio.run(d.tick()) == (0 if repeat is None else 1)
        add_transition(store, checks["health"], "fail", "pass", clock.now)
        clock.advance(60)
        assert asyncio.run(d.tick()) == 1  # the resolve of the announced alert
    bodies = [json.loads(r["body"]) for r in rec.requests]
    first = bodies[0]
    assert (first["id"], first["status"], first["state"], first["previous_state"]) == (
        f"{tid}:late",
        "firing",
        "fail",
        "pass",
    )
    assert bodies[-1]["status"] == "resolved"
    statuses = [b["status"] for b in bodies]
    assert statuses == (
        ["firing", "resolved"] if repeat is None else ["firing", "firing", "resolved"]
    )
    assert len({b["id"] for b in bodies}) == len(bodies)


def test_recurring_window() -> None:
    w = Window(name="nightly", schedule="0 2 * * *", duration_s=3600)
    day = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    assert w.active("any", day.replace(hour=2, minute=30))
    assert w.active("any", day.replace(hour=2))
    assert not w.active("any", day.replace(hour=3))
    assert not w.active("any", day.replace(hour=1, minute=59))


def test_tls_alerts_once_per_threshold(store: Database) -> None:
    checks = seed(store, checks=("tls",), kind="tls")
    chk = checks["tls"]
    expiring = [Finding(code="tls.expiring", severity="medium", message="expires soon")]
    expired = [Finding(code="tls.expiring", severity="high", message="expires very soon")]
    runs = ["pass"] * 3 + ["warn"] * 6 + ["fail"] * 4
    for i, status in enumerate(runs):
        found = {"warn": expiring, "fail": expired}.get(status, [])
        at = T0 + timedelta(minutes=5 * i)
        complete(store, COMPLETION_RULES, [run_result(chk, status, at, found)], "w", now=at)
    d = Dispatcher(
        store,
        make_config(
            {"name": "ops", "type": "webhook", "unsigned": True, "url": "http://127.0.0.1:9/x"}
        ),
        clock=Clock(),
    )
    d.plan_transitions(T0 + timedelta(hours=2))
    rows, _ = list_deliveries(store)
    assert sorted((r["previous_state"], r["state"]) for r in rows) == [
        ("pass", "warn"),
        ("warn", "fail"),
    ]


def test_unknown_neither_resolves_nor_refires_an_open_alert(store: Database) -> None:
    checks = seed(store)
    clock = Clock()
    port = free_port()
    cfg = {
        "name": "ops",
        "type": "webhook",
        "unsigned": True,
        "url": f"http://127.0.0.1:{port}/x",
        "repeat_interval": "4h",
    }
    d = Dispatcher(store, make_config(cfg), clock=clock)
    rec = Recorder()
    with http_receiver(port, rec):
        tid = add_transition(store, checks["health"], "pass", "fail", clock.now)
        assert asyncio.run(d.tick()) == 1
        clock.advance(60)  # stale after a restart
        add_transition(store, checks["health"], "fail", "unknown", clock.now)
        assert asyncio.run(d.tick()) == 0
        clock.advance(5 * 3600)  # no late resolve, no reminder about an unknown state
        assert asyncio.run(d.tick()) == 0
        add_transition(store, checks["health"], "unknown", "fail", clock.now)
        assert asyncio.run(d.tick()) == 1  # still open: a reminder is due, no new firing
        add_transition(store, checks["health"], "fail", "pass", clock.now)
        assert asyncio.run(d.tick()) == 1
    bodies = [json.loads(r["body"]) for r in rec.requests]
    assert [(b["id"], b["status"]) for b in bodies[:2]] == [
        (tid, "firing"),
        (f"{tid}:reminder:1", "firing"),
    ]
    assert bodies[2]["status"] == "resolved" and bodies[2]["previous_state"] == "fail"


@pytest.mark.parametrize(
    ("kind", "prev", "new", "out"),
    [
        ("health", "pass", "fail", "firing"),
        ("health", "unknown", "fail", "firing"),
        ("health", "pass", "error", "firing"),
        ("health", "fail", "error", None),
        ("health", "fail", "pass", "resolved"),
        ("health", "fail", "warn", "resolved"),
        ("health", "pass", "warn", None),
        ("health", "unknown", "pass", None),
        ("health", "fail", "unknown", None),
        ("health", "error", "unknown", None),
        ("tls", "warn", "unknown", None),
        ("tls", "pass", "warn", "firing"),
        ("tls", "warn", "fail", "firing"),
        ("tls", "fail", "warn", None),
        ("tls", "warn", "pass", "resolved"),
    ],
)
def test_classify(kind: str, prev: str, new: str, out: str | None) -> None:
    assert classify(kind, prev, new) == out
