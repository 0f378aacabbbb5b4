"""A real webhook receiver that is down for a while, then returns: nothing lost or duplicated,
order kept, every body HMAC-verified; plus restart after a kill between plan and delivery."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from datetime import timedelta

import pytest

from auditor.alerting.dispatcher import Dispatcher
from auditor.alerting.history import list_deliveries
from auditor.alerting.render import WEBHOOK_KEYS, verify_signature
from auditor.store.db import Database
from auditor.store.models import AlertDelivery
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

SECRET = "s3cret-hmac-key"


@pytest.fixture
def store(db_url: str) -> Database:
    st = Database(db_url)
    yield st  # type: ignore[misc]
    st.close()


def webhook_cfg(port: int) -> dict[str, object]:
    return {
        "name": "ops",
        "type": "webhook",
        "url": f"http://127.0.0.1:{port}/hook",
        "secret_env": "TEST_OPS_SECRET",
        "send_resolved": True,
    }


def verified(rec: Recorder) -> list[dict[str, object]]:
    out = []
    for r in rec.requests:
        assert verify_signature(r["body"], SECRET, r["headers"]["x-auditor-signature"])
        out.append(json.loads(r["body"]))
    return out


def test_outage_then_recovery_delivers_everything_once_in_order(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_OPS_SECRET", SECRET)
    checks = seed(store, checks=("health", "ready"))
    port = free_port()
    clock = Clock()
    d = Dispatcher(
        store, make_config(webhook_cfg(port)), clock=clock, backoff_base_s=1.0, backoff_max_s=8.0
    )
    ids = [
        add_transition(
            store,
            checks["health"],
            "pass",
            "fail",
            T0 - timedelta(seconds=30),
            [{"code": "health.status", "severity": "high", "message": "500"}],
        ),
        add_transition(store, checks["ready"], "unknown", "fail", T0 - timedelta(seconds=20)),
        add_transition(store, checks["health"], "fail", "pass", T0 - timedelta(seconds=10)),
    ]

    async def scenario() -> Recorder:
        # receiver down: connection refused, backoff grows, nothing delivered, order held
        assert await d.tick() == 0
        for step in (1.0, 2.0, 4.0):
            assert await d.tick() == 0  # still backing off: not even attempted
            clock.advance(step)
            assert await d.tick() == 0
        rows, total = list_deliveries(store, receiver="ops")
        assert total == 3 and {r["status"] for r in rows} == {"pending"}
        head = next(r for r in rows if r["alert_id"] == ids[0])
        assert head["attempts"] == 4 and "refused" in (head["last_error"] or "")
        assert all(r["attempts"] == 0 for r in rows if r["alert_id"] != ids[0])
        rec = Recorder()
        with http_receiver(port, rec):
            clock.advance(8.0)
            assert await d.tick() == 3
            assert await d.tick() == 0  # nothing twice
        return rec

    rec = asyncio.run(scenario())
    bodies = verified(rec)
    assert [b["id"] for b in bodies] == ids
    assert [b["status"] for b in bodies] == ["firing", "firing", "resolved"]
    first = bodies[0]
    assert list(first) == list(WEBHOOK_KEYS)
    assert first["schema"] == "auditor.alert/v1"
    assert (first["service"], first["check"], first["kind"]) == ("payments-api", "health", "health")
    assert (first["state"], first["previous_state"]) == ("fail", "pass")
    assert first["findings"][0]["code"] == "health.status"
    assert first["url"] == "https://auditor.example/services/payments-api"
    assert first["at"] == "2026-11-27T11:59:30Z"
    rows, _ = list_deliveries(store, status="delivered")
    assert len(rows) == 3
    assert all(SECRET not in json.dumps(r) and "/hook" not in json.dumps(r) for r in rows)
    assert rows[0]["target"] == f"http://127.0.0.1:{port}/…"


def test_killed_between_transition_and_delivery_delivers_after_restart(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_OPS_SECRET", SECRET)
    checks = seed(store)
    port = free_port()
    clock = Clock()
    tid = add_transition(store, checks["health"], "pass", "fail", T0)
    config = make_config(webhook_cfg(port))

    class Hang:
        name = "ops"
        started = asyncio.Event

        def __init__(self) -> None:
            self.entered = False

        async def send(self, payload: object) -> None:
            self.entered = True
            await asyncio.sleep(3600)

    hang = Hang()
    first = Dispatcher(store, config, clock=clock, receivers={"ops": hang}, lease_s=60)

    async def crash() -> None:
        task = asyncio.create_task(first.tick())
        for _ in range(500):  # poll with a deadline, no racing sleeps
            if hang.entered:
                break
            await asyncio.sleep(0.01)
        assert hang.entered
        task.cancel()  # the node dies mid-send: lease held, nothing recorded
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(crash())
    with store.read() as s:
        row = s.exec(__import__("sqlmodel").select(AlertDelivery)).one()
        assert row.status == "pending" and row.attempts == 1
    # a second transition written after the crash, before the restart
    tid2 = add_transition(store, checks["health"], "fail", "pass", T0 + timedelta(seconds=5))

    rec = Recorder()
    with http_receiver(port, rec):
        second = Dispatcher(store, config, clock=clock, lease_s=60)
        assert asyncio.run(second.tick()) == 0  # lease still held by the dead node
        clock.advance(61)
        assert asyncio.run(second.tick()) == 2
        assert asyncio.run(second.tick()) == 0
    assert [b["id"] for b in verified(rec)] == [tid, tid2]


def test_non_2xx_is_retried_and_unsigned_without_secret(store: Database) -> None:
    checks = seed(store)
    port = free_port()
    clock = Clock()
    cfg = {
        "name": "plain",
        "type": "webhook",
        "unsigned": True,
        "url": f"http://127.0.0.1:{port}/x",
    }
    d = Dispatcher(store, make_config(cfg), clock=clock, backoff_base_s=1.0)
    add_transition(store, checks["health"], "pass", "fail", T0)
    rec = Recorder(status=503)
    with http_receiver(port, rec):
        assert asyncio.run(d.tick()) == 0
        rows, _ = list_deliveries(store)
        assert rows[0]["last_status_code"] == 503 and rows[0]["status"] == "pending"
        rec.status = 204
        clock.advance(1.0)
        assert asyncio.run(d.tick()) == 1
    assert len(rec.requests) == 2
    assert "x-auditor-signature" not in rec.requests[-1]["headers"]


def test_missing_secret_env_fails_permanently(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_OPS_SECRET", raising=False)
    checks = seed(store)
    d = Dispatcher(store, make_config(webhook_cfg(free_port())), clock=Clock())
    add_transition(store, checks["health"], "pass", "fail", T0)
    assert asyncio.run(d.tick()) == 0
    rows, _ = list_deliveries(store)
    assert rows[0]["status"] == "failed" and "TEST_OPS_SECRET" in rows[0]["last_error"]


def test_one_receivers_backlog_does_not_starve_the_others(store: Database) -> None:
    """≥5000 pending rows of a dead receiver, all older: the others still get theirs."""
    import sqlalchemy as sa

    from auditor.store.models import new_id

    checks = seed(store)
    clock = Clock()
    sent: list[str] = []

    class Ok:
        name = "ops"

        async def send(self, payload: dict[str, object]) -> None:
            sent.append(str(payload["id"]))

    class Dead:
        name = "dead"

        async def send(self, payload: dict[str, object]) -> None:
            raise AssertionError("backing off: must not be attempted")

    cfgs = [
        {"name": "ops", "type": "webhook", "unsigned": True, "url": "http://127.0.0.1:9/x"},
        {
            "name": "dead",
            "type": "webhook",
            "unsigned": True,
            "url": "http://127.0.0.1:9/y",
            "match": {"environment": ["staging"]},
        },
    ]
    d = Dispatcher(store, make_config(*cfgs), clock=clock, receivers={"ops": Ok(), "dead": Dead()})
    backlog = [
        {
            "id": new_id(),
            "transition_id": new_id(),
            "receiver": "dead",
            "purpose": "notify",
            "status": "pending",
            "attempts": 7,
            "next_attempt_at": T0 + timedelta(hours=1),  # backing off
            "payload": {"id": f"old-{i}"},
            "created_at": T0 - timedelta(hours=2, seconds=-i),
            "updated_at": T0,
        }
        for i in range(5001)
    ]
    with store.write() as s:
        s.execute(sa.insert(AlertDelivery), backlog)
    tid = add_transition(store, checks["health"], "pass", "fail", T0)
    assert asyncio.run(d.tick()) == 1
    assert sent == [tid]
    with store.read() as s:
        left = s.execute(
            sa.select(AlertDelivery.attempts).where(
                AlertDelivery.receiver == "dead", AlertDelivery.status == "pending"
            )
        ).all()
    assert len(left) == 5001 and {a for (a,) in left} == {7}  # untouched, order kept


def _dripping_server(port: int, stop: threading.Event) -> threading.Thread:
    """Answers 200 with a 100-byte body sent one byte every 0.2 s (no read ever times out)."""
    srv = socket.create_server(("127.0.0.1", port))
    srv.settimeout(0.2)

    def serve() -> None:
        with srv:
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.settimeout(5)
                    with contextlib.suppress(OSError):
                        conn.recv(65536)
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                        for _ in range(100):
                            if stop.wait(0.2):
                                break
                            conn.sendall(b"x")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_receiver_dripping_its_reply_is_cut_off_at_its_timeout(store: Database) -> None:
    checks = seed(store)
    port = free_port()
    cfg = {
        "name": "drip",
        "type": "webhook",
        "unsigned": True,
        "url": f"http://127.0.0.1:{port}/x",
        "timeout": 1,
    }
    d = Dispatcher(store, make_config(cfg), clock=Clock())
    add_transition(store, checks["health"], "pass", "fail", T0)
    stop = threading.Event()
    thread = _dripping_server(port, stop)
    try:
        started = time.monotonic()
        assert asyncio.run(asyncio.wait_for(d.tick(), 8)) == 0
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        thread.join(5)
    rows, _ = list_deliveries(store)
    assert rows[0]["status"] == "pending" and "timeout" in (rows[0]["last_error"] or "")


def test_every_send_has_a_total_deadline_inside_the_lease(store: Database) -> None:
    checks = seed(store)

    class Hang:
        name = "ops"

        async def send(self, payload: object) -> None:
            await asyncio.sleep(3600)

    cfg = {
        "name": "ops",
        "type": "webhook",
        "unsigned": True,
        "url": "http://127.0.0.1:9/x",
        "timeout": "5m",
    }
    d = Dispatcher(store, make_config(cfg), clock=Clock(), receivers={"ops": Hang()}, lease_s=1.0)
    assert d.send_deadline("ops") == 0.5  # capped well below the lease
    add_transition(store, checks["health"], "pass", "fail", T0)
    assert asyncio.run(asyncio.wait_for(d.tick(), 5)) == 0
    rows, _ = list_deliveries(store)
    assert rows[0]["status"] == "pending" and "timeout" in (rows[0]["last_error"] or "")
