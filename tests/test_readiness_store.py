"""The readiness loaders against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auditor.config.sync import sync_config
from auditor.readiness.queries import load_all_readiness, load_service_readiness
from auditor.store.db import Database
from auditor.store.models import Attestation, Check, CheckState, Run, Service, Waiver

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def seed(store: Database) -> tuple[str, str]:
    with store.write() as s:
        a = Service(name="alpha", url="https://alpha.test", profile="production")
        b = Service(name="beta", url="https://beta.test")
        s.add_all([a, b])
        s.flush()
        tls = Check(service_id=a.id, name="tls", kind="tls", severity="critical")
        load = Check(
            service_id=a.id,
            name="load-testing",
            kind="attestation",
            options={"item": "load testing completed", "max_age": "90d"},
        )
        off = Check(service_id=a.id, name="off", kind="health", enabled=False)
        hb = Check(service_id=b.id, name="health", kind="health", level="silver")
        s.add_all([tls, load, off, hb])
        s.flush()
        recent = NOW - timedelta(minutes=1)
        s.add(
            CheckState(
                check_id=tls.id,
                service_id=a.id,
                state="fail",
                last_run_at=recent,
                last_findings=[{"code": "tls.expired", "severity": "critical", "message": "x"}],
            )
        )
        s.add(CheckState(check_id=hb.id, service_id=b.id, state="pass", last_run_at=recent))
        s.add(
            Waiver(
                check_id=tls.id,
                reason="old",
                created_by="x",
                created_at=NOW - timedelta(days=20),
                expires_at=NOW - timedelta(days=10),
            )
        )
        s.add(
            Waiver(
                check_id=tls.id,
                reason="renewal ordered",
                created_by="alice",
                created_at=NOW - timedelta(days=1),
                expires_at=NOW + timedelta(days=2),
            )
        )
        s.add(
            Attestation(
                service_id=a.id,
                item="load testing completed",
                signed_by="bob",
                signed_at=NOW - timedelta(days=200),
            )
        )
        s.add(
            Attestation(
                service_id=a.id,
                item="load testing completed",
                signed_by="carol",
                signed_at=NOW - timedelta(days=2),
            )
        )
        return a.id, b.id


def test_loaders(db_url: str) -> None:
    store = Database(db_url)
    try:
        a_id, b_id = seed(store)
        a = load_service_readiness(store, a_id, NOW)
        assert {c.name for c in a.checks} == {"tls", "load-testing", "env", "migrations", "backups"}
        tls = a.check("tls")
        assert tls.overlay == "waived" and tls.waiver is not None
        assert tls.waiver.reason == "renewal ordered"
        load = a.check("load-testing")
        assert (load.state, load.overlay) == ("pass", "attested")
        assert load.attestation is not None and load.attestation.signed_by == "carol"
        assert a.not_configured == ("env", "migrations", "backups")
        assert a.verdict == "not_ready"
        by_name = load_service_readiness(store, "beta", NOW)
        assert by_name.service_id == b_id and by_name.verdict == "ready"
        everything = load_all_readiness(store, NOW)
        assert list(everything) == [a_id, b_id]
        assert everything[b_id].level == "gold"
        with pytest.raises(LookupError):
            load_service_readiness(store, "nope", NOW)
    finally:
        store.close()


def test_disabled_service_is_left_out_of_load_all_but_still_answers(db_url: str) -> None:
    store = Database(db_url)
    try:
        a_id, b_id = seed(store)
        with store.write() as s:
            gone = s.get(Service, b_id)
            assert gone is not None
            gone.enabled = False  # removed from the config, kept with its history
            s.add(gone)
        assert list(load_all_readiness(store, NOW)) == [a_id]
        kept = load_service_readiness(store, "beta", NOW)
        assert kept.service_id == b_id and kept.verdict == "ready"
    finally:
        store.close()


def test_load_all_does_not_touch_run_history(sqlite_url: str) -> None:
    import sqlalchemy as sa

    store = Database(sqlite_url)
    try:
        seed(store)
        statements: list[str] = []

        def spy(conn: object, cursor: object, statement: str, *args: object) -> None:
            statements.append(statement)

        sa.event.listen(store.engine, "before_cursor_execute", spy)
        load_all_readiness(store, NOW)
        sa.event.remove(store.engine, "before_cursor_execute", spy)
        assert statements
        assert not any(f"FROM {Run.__tablename__}" in st or " run." in st for st in statements)
    finally:
        store.close()


def test_the_fleet_snapshot_is_shared_but_a_foreground_write_refreshes_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from auditor.config import parse_config
    from auditor.readiness.cache import load_all_readiness_cached
    from auditor.store.db import Database
    from auditor.store.models import Service, utcnow

    store = Database(f"sqlite:///{tmp_path}/c.db")
    sync_config(store, parse_config({"services": [{"name": "a", "url": "https://a"}]}, environ={}))
    first = load_all_readiness_cached(store, utcnow())
    assert load_all_readiness_cached(store, utcnow()) is first  # shared between readers
    with store.write(background=True) as s:  # a worker batch: reaches readers within the TTL
        s.add(Service(name="bg", url="https://bg"))
    assert load_all_readiness_cached(store, utcnow()) is first
    with store.write() as s:  # an edit: visible at once
        s.add(Service(name="fg", url="https://fg"))
    fresh = load_all_readiness_cached(store, utcnow())
    assert fresh is not first and len(fresh) == 3
    assert len(load_all_readiness_cached(store, utcnow(), ttl_s=0)) == 3
