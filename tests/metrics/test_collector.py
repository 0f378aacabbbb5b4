"""The store collector: every effective state, facts metrics, counters, removal, escaping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.metrics import StoreCollector, build_registry
from auditor.schedule.state import STATES
from auditor.store.db import Database
from auditor.store.models import Service
from tests.metrics.support import T0, make_store, run_round

NOT_AFTER = 1_800_000_000.0

SERVICES = [
    {
        "name": "shop",
        "url": "https://127.0.0.1:9",
        "checks": [
            {"kind": "health", "name": "up", "interval": "5m"},
            {"kind": "health", "name": "warny", "interval": "5m"},
            {"kind": "health", "name": "down", "interval": "5m"},
            {"kind": "health", "name": "err", "interval": "5m", "consecutive_error_limit": 1},
            {"kind": "health", "name": "never", "interval": "5m"},
            {"kind": "health", "name": "stale", "interval": "5m"},
            {"kind": "health", "name": "off", "interval": "5m", "enabled": False},
            {"kind": "tls", "name": "cert", "interval": "5m"},
            {"kind": "headers", "name": "hdr", "interval": "5m"},
        ],
    }
]
NOW = T0 + timedelta(minutes=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Database]:
    st = make_store(f"sqlite:///{tmp_path}/m.db", SERVICES, now=T0 - timedelta(hours=2))
    run_round(st, T0 - timedelta(hours=1), {("shop", "stale"): "pass"})
    run_round(
        st,
        T0,
        {
            ("shop", "up"): "pass",
            ("shop", "warny"): "warn",
            ("shop", "down"): "fail",
            ("shop", "err"): "error",
            ("shop", "cert"): "pass",
            ("shop", "hdr"): "warn",
        },
        facts={
            ("shop", "cert"): {"not_after_ts": NOT_AFTER, "days_left": 300},
            ("shop", "hdr"): {"observatory": {"score": 70, "grade": "B-", "tests": {}}},
        },
    )
    yield st
    st.close()


def registry_for(store: Database, now: datetime = NOW) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(StoreCollector(store, now=lambda: now))
    return reg


def value(reg: CollectorRegistry, name: str, **labels: str) -> float | None:
    return reg.get_sample_value(name, labels)


@pytest.mark.parametrize(
    ("check", "state"),
    [
        ("up", "pass"),
        ("warny", "warn"),
        ("down", "fail"),
        ("err", "error"),
        ("never", "unknown"),
        ("stale", "unknown"),
        ("cert", "pass"),
        ("hdr", "warn"),
    ],
)
def test_it_exports_the_state_set_for_every_state(store: Database, check: str, state: str) -> None:
    reg = registry_for(store)
    kind = {"cert": "tls", "hdr": "headers"}.get(check, "health")
    base = {"service": "shop", "check": check, "kind": kind}
    for s in STATES:
        assert value(reg, "auditor_check_status", **base, status=s) == (1.0 if s == state else 0.0)
    success = value(reg, "auditor_check_success", **base)
    expected = None if state == "unknown" else (1.0 if state in ("pass", "warn") else 0.0)
    assert success == expected


def test_it_exports_last_run_and_duration_only_when_a_run_exists(store: Database) -> None:
    reg = registry_for(store)
    base = {"service": "shop", "kind": "health"}
    assert value(reg, "auditor_check_last_run_timestamp_seconds", **base, check="up") == (
        T0.timestamp()
    )
    assert value(reg, "auditor_check_duration_seconds", **base, check="up") == 0.125
    # stale: still the fact of when it last ran
    stale_ts = value(reg, "auditor_check_last_run_timestamp_seconds", **base, check="stale")
    assert stale_ts == (T0 - timedelta(hours=1)).timestamp()
    assert value(reg, "auditor_check_last_run_timestamp_seconds", **base, check="never") is None
    assert value(reg, "auditor_check_duration_seconds", **base, check="never") is None


def test_it_exports_cert_expiry_and_headers_score_from_latest_state(store: Database) -> None:
    reg = registry_for(store)
    expiry = value(reg, "auditor_tls_cert_expiry_timestamp_seconds", service="shop", check="cert")
    assert expiry == NOT_AFTER
    assert value(reg, "auditor_headers_score", service="shop", check="hdr") == 70.0
    # only the kinds that carry those facts
    assert value(reg, "auditor_headers_score", service="shop", check="up") is None


def test_it_counts_runs_by_kind_and_raw_status(store: Database) -> None:
    reg = registry_for(store)
    runs = {
        (s.labels["kind"], s.labels["status"]): s.value
        for m in reg.collect()
        if m.name == "auditor_runs"
        for s in m.samples
    }
    assert runs[("health", "pass")] == 2.0  # up + stale
    assert runs[("health", "warn")] == 1.0
    assert runs[("health", "fail")] == 1.0
    assert runs[("health", "error")] == 1.0
    assert runs[("tls", "pass")] == 1.0
    assert runs[("tls", "fail")] == 0.0  # every status is present from the start
    assert runs[("headers", "warn")] == 1.0


def test_runs_total_survives_a_restart_and_history_pruning(store: Database, tmp_path: Path) -> None:
    store.close()
    again = Database(f"sqlite:///{tmp_path}/m.db")
    with again.write() as s:
        s.execute(sa.text("DELETE FROM run"))  # retention must not decrement a counter
    reg = registry_for(again)
    assert value(reg, "auditor_runs_total", kind="health", status="pass") == 2.0
    again.close()


def test_disabled_and_removed_checks_leave_no_series(store: Database) -> None:
    reg = registry_for(store)
    assert (
        value(
            reg,
            "auditor_check_status",
            service="shop",
            check="off",
            kind="health",
            status="unknown",
        )
        is None
    )
    assert (
        value(
            reg, "auditor_check_status", service="shop", check="down", kind="health", status="fail"
        )
        == 1.0
    )
    remaining = dict(SERVICES[0])
    remaining["checks"] = [c for c in SERVICES[0]["checks"] if c["name"] != "down"]  # type: ignore[index, attr-defined]
    sync_config(store, parse_config({"services": [remaining]}, environ={}), now=NOW)
    text = generate_latest(reg).decode()
    assert 'check="down"' not in text
    assert 'check="up"' in text
    # a whole service removed from the config
    sync_config(store, parse_config({"services": []}, environ={}), now=NOW)
    text = generate_latest(reg).decode()
    assert 'service="shop"' not in text


def test_it_reports_pending_outbox_work(store: Database) -> None:
    reg = registry_for(store)
    # the first run of each check is a transition unknown -> state, not processed yet
    assert value(reg, "auditor_outbox_pending", queue="transitions") == 7.0
    assert value(reg, "auditor_outbox_pending", queue="deliveries") == 0.0


def test_registration_does_not_touch_the_database(tmp_path: Path) -> None:
    class Exploding(Database):
        def read(self):  # type: ignore[no-untyped-def, override]
            raise AssertionError("describe() must not read the store")

    store = Exploding(f"sqlite:///{tmp_path}/x.db")
    reg = build_registry(store, readiness=False)  # registers with auto_describe=True
    assert reg is not None
    store.close()


def test_a_store_failure_still_answers_with_scrape_success_zero(tmp_path: Path) -> None:
    class Broken(Database):
        def read(self):  # type: ignore[no-untyped-def, override]
            raise RuntimeError("database is gone")

    store = Broken(f"sqlite:///{tmp_path}/x.db")
    reg = registry_for(store)
    assert value(reg, "auditor_store_scrape_success") == 0.0
    assert (
        value(reg, "auditor_check_status", service="shop", check="up", kind="health", status="pass")
        is None
    )
    store.close()


ODD_NAMES = [
    'quote"d',
    "back\\slash",
    "new\nline",
    "ünïcödé ☃",
    "curly{}=,",
    "trailing\\",
]


@pytest.mark.parametrize("odd", ODD_NAMES)
def test_label_values_are_escaped_and_round_trip(store: Database, odd: str) -> None:
    with store.write() as s:
        s.execute(sa.update(Service).where(col(Service.name) == "shop").values(name=odd))
    text = generate_latest(registry_for(store)).decode()
    found = {
        sample.labels["service"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if "service" in sample.labels
    }
    assert found == {odd}


def test_readiness_metrics_come_from_the_readiness_loader(store: Database) -> None:
    class Item:
        def __init__(self, score: int, verdict: str) -> None:
            self.score, self.verdict = score, verdict

    with store.read() as s:
        sid = s.execute(sa.select(col(Service.id))).scalar_one()
    reg = CollectorRegistry()
    reg.register(
        StoreCollector(
            store, now=lambda: NOW, readiness=lambda _s, _n: {sid: Item(62, "not_ready")}
        )
    )
    assert value(reg, "auditor_service_readiness_score", service="shop") == 62.0
    assert value(reg, "auditor_service_ready", service="shop") == 0.0
    reg2 = CollectorRegistry()
    reg2.register(
        StoreCollector(
            store, now=lambda: NOW, readiness=lambda _s, _n: {sid: Item(90, "ready_with_warnings")}
        )
    )
    assert value(reg2, "auditor_service_ready", service="shop") == 1.0


def test_counters_are_kept_by_the_database_on_every_backend(db_url: str) -> None:
    """The triggers of migration m001 count runs and final deliveries (SQLite and PostgreSQL)."""
    store = make_store(db_url, SERVICES, now=T0)
    try:
        run_round(store, T0, {("shop", "up"): "pass", ("shop", "down"): "fail"})
        # a second run of "up" at its next due time
        run_round(store, T0 + timedelta(minutes=5), {("shop", "up"): "pass"})
        with store.write() as s:
            s.execute(
                sa.text(
                    "INSERT INTO alert_delivery (id, transition_id, receiver, purpose, status,"
                    " attempts, payload, created_at, updated_at) VALUES"
                    " ('d1', 't1', 'ops', 'notify', 'pending', 0, '{}', :t, :t),"
                    " ('d2', 't2', 'ops', 'notify', 'suppressed', 0, '{}', :t, :t)"
                ),
                {"t": T0.replace(tzinfo=None)},
            )
        with store.write() as s:
            s.execute(sa.text("UPDATE alert_delivery SET attempts = 1 WHERE id = 'd1'"))
            s.execute(sa.text("UPDATE alert_delivery SET status = 'delivered' WHERE id = 'd1'"))
        reg = registry_for(store, T0 + timedelta(minutes=6))
        assert value(reg, "auditor_runs_total", kind="health", status="pass") == 2.0
        assert value(reg, "auditor_runs_total", kind="health", status="fail") == 1.0
        assert (
            value(reg, "auditor_alert_deliveries_total", receiver="ops", result="delivered") == 1.0
        )
        assert (
            value(reg, "auditor_alert_deliveries_total", receiver="ops", result="suppressed") == 1.0
        )
        assert value(reg, "auditor_outbox_pending", queue="deliveries") == 0.0
    finally:
        store.close()
