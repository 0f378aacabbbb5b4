"""Retention and roll-ups on SQLite and PostgreSQL with a moved clock."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from auditor.store.db import Database
from auditor.store.models import Rollup, Run
from auditor.store.retention import (
    HOURLY_MIN_S,
    RetentionPolicy,
    floor_hour,
    policy_for,
    run_retention,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = ("pass", "pass", "warn", "fail", "error")


def _seed(store: Database, checks: list[str], start: datetime, hours: int, per_hour: int) -> int:
    """``per_hour`` runs per check per hour, statuses cycling, duration = minute index."""
    rows = []
    for h in range(hours):
        for i in range(per_hour):
            at = start + timedelta(hours=h, minutes=i * (60 // per_hour))
            for cid in checks:
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "check_id": cid,
                        "service_id": "svc",
                        "status": STATUSES[(h + i) % len(STATUSES)],
                        "summary": "",
                        "findings": [],
                        "facts": {},
                        "duration_ms": float(i + 1),
                        "started_at": at,
                        "due_at": at,
                        "worker": "t",
                        "created_at": at,
                    }
                )
    with store.write() as s:
        s.execute(Run.__table__.insert(), rows)  # type: ignore[attr-defined]
    return len(rows)


def _rollups(store: Database, period: str) -> list[Rollup]:
    with store.read() as s:
        return list(
            s.exec(
                select(Rollup)
                .where(Rollup.period == period)
                .order_by(col(Rollup.bucket_start), col(Rollup.check_id))
            ).all()
        )


def _total(rows: list[Rollup]) -> int:
    return sum(r.count_pass + r.count_warn + r.count_fail + r.count_error for r in rows)


POLICY = RetentionPolicy(raw_s=2 * 86400, hourly_s=4 * 86400, daily_s=8 * 86400, batch_rows=50)


def test_raw_runs_roll_up_then_expire_and_history_is_conserved(db_url: str) -> None:
    store = Database(db_url)
    checks = ["a", "b", "c"]
    n = _seed(store, checks, T0, hours=24 * 3, per_hour=4)  # 3 days
    now = T0 + timedelta(days=3)  # clock moved: day 1 is beyond the 2-day raw window
    report = run_retention(store, now, POLICY)
    assert report.complete and not report.busy
    assert report.runs_deleted == 3 * 24 * 4  # exactly day 1's runs
    cutoff = floor_hour(now - timedelta(days=2))
    with store.read() as s:
        left = s.exec(select(Run)).all()
    assert len(left) == n - report.runs_deleted
    assert all(r.started_at >= cutoff for r in left)
    hours = _rollups(store, "hour")
    assert _total(hours) == n  # every run is in exactly one hourly bucket
    assert len(hours) == 3 * 72
    first = next(r for r in hours if r.check_id == "a" and r.bucket_start == T0)
    assert (first.count_pass, first.count_warn, first.count_fail, first.count_error) == (2, 1, 1, 0)
    assert first.duration_ms_sum == 1 + 2 + 3 + 4 and first.duration_ms_max == 4
    days = _rollups(store, "day")
    assert [d.bucket_start for d in days[::3]] == [
        T0,
        T0 + timedelta(days=1),
        T0 + timedelta(days=2),
    ]
    assert _total(days) == n

    # idempotent: a second pass (or another node) changes nothing
    again = run_retention(store, now, POLICY)
    assert again.runs_deleted == 0
    assert [
        (r.check_id, r.bucket_start, r.count_pass, r.count_fail) for r in _rollups(store, "hour")
    ] == [(r.check_id, r.bucket_start, r.count_pass, r.count_fail) for r in hours]
    assert _total(_rollups(store, "day")) == n


def test_old_buckets_are_pruned_and_size_stays_bounded(db_url: str) -> None:
    store = Database(db_url)
    checks = ["a", "b"]
    counts = []
    for day in range(12):  # a run every 15 min for 12 days, retention applied daily
        _seed(store, checks, T0 + timedelta(days=day), hours=24, per_hour=4)
        run_retention(store, T0 + timedelta(days=day + 1, minutes=5), POLICY)
        with store.read() as s:
            counts.append(len(s.exec(select(Run.id)).all()))
    # raw runs stop growing once the 2-day window is full
    assert counts[3:] == [counts[3]] * (len(counts) - 3)
    assert counts[3] <= 2 * 2 * 24 * 4 + 2 * 4  # two days (+ the hour on the cutoff)
    now = T0 + timedelta(days=12, minutes=5)
    hours = _rollups(store, "hour")
    days = _rollups(store, "day")
    assert min(h.bucket_start for h in hours) >= now - timedelta(days=5)
    assert min(d.bucket_start for d in days) >= now - timedelta(days=9)
    # history still covers the whole daily window: 8 days of daily buckets
    assert len({d.bucket_start for d in days}) == 8
    assert all(_total([d]) == 24 * 4 for d in days)


def test_late_run_in_recent_hour_is_recounted(db_url: str) -> None:
    store = Database(db_url)
    _seed(store, ["a"], T0, hours=3, per_hour=2)
    now = T0 + timedelta(hours=3)
    run_retention(store, now, POLICY)
    assert _total(_rollups(store, "hour")) == 6
    # a run of the last hour stored after the pass (a slow writer) is picked up next time
    with store.write() as s:
        s.add(
            Run(
                check_id="a",
                service_id="svc",
                status="fail",
                started_at=now - timedelta(minutes=1),
                due_at=now - timedelta(minutes=1, seconds=1),
                duration_ms=1.0,
            )
        )
    run_retention(store, now + timedelta(minutes=10), POLICY)
    assert _total(_rollups(store, "hour")) == 7


def test_max_seconds_bounds_a_pass_and_the_next_continues(db_url: str) -> None:
    store = Database(db_url)
    n = _seed(store, ["a", "b"], T0, hours=48, per_hour=2)
    now = T0 + timedelta(days=5)
    first = run_retention(store, now, POLICY, max_seconds=0.0)
    assert not first.complete
    while not run_retention(store, now, POLICY, max_seconds=5.0).complete:
        pass
    with store.read() as s:
        assert s.exec(select(Run.id)).first() is None
    assert _total(_rollups(store, "day")) == n


def test_two_nodes_at_once_count_every_run_once(db_url: str) -> None:
    store_a, store_b = Database(db_url), Database(db_url, migrate=False)
    n = _seed(store_a, ["a", "b", "c", "d"], T0, hours=48, per_hour=4)
    now = T0 + timedelta(days=4)
    errors: list[BaseException] = []

    def node(store: Database) -> None:
        try:
            for _ in range(20):
                if run_retention(store, now, POLICY).complete:
                    return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=node, args=(st,)) for st in (store_a, store_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    run_retention(store_a, now, POLICY)
    assert _total(_rollups(store_a, "hour")) == n
    assert _total(_rollups(store_a, "day")) == n


def test_policy_rejects_windows_that_would_lose_history() -> None:
    with pytest.raises(ValueError):
        RetentionPolicy(raw_s=60)
    with pytest.raises(ValueError):
        RetentionPolicy(hourly_s=86400)


def test_daemon_policy_keeps_the_database_flat_and_the_charts_whole(db_url: str) -> None:
    from web.dashboard.data import history

    policy = policy_for(9 * 86400)  # the smallest window that keeps hourly = raw
    assert policy.hourly_s == policy.raw_s and policy.daily_s >= 400 * 86400
    assert policy_for(3600).hourly_s == HOURLY_MIN_S  # the 7-day chart keeps its buckets
    store = Database(db_url)
    checks = ["a", "b"]
    rows = []
    for day in range(20):  # a run every 15 min for 20 days, retention applied daily
        _seed(store, checks, T0 + timedelta(days=day), hours=24, per_hour=4)
        run_retention(store, T0 + timedelta(days=day + 1, minutes=5), policy)
        rows.append((len(_runs(store)), len(_rollups(store, "hour"))))
    # raw runs and hourly buckets stop growing once the window is full: only daily rows
    # (one per check and day) are added after it
    assert rows[10:] == [rows[10]] * 10
    now = T0 + timedelta(days=20, minutes=5)
    for rng in ("30d", "90d"):  # every day, also those beyond the raw window, in the chart
        chart = history(store, checks, rng, now)
        assert chart.source == "rollup"
        assert sum(b.total for b in chart.buckets["a"]) == 20 * 24 * 4
    week = history(store, checks, "7d", now)
    assert week.source == "rollup"
    assert sum(b.total for b in week.buckets["a"]) >= 7 * 24 * 4 - 4


def _runs(store: Database) -> list[str]:
    with store.read() as s:
        return list(s.exec(select(Run.id)).all())
