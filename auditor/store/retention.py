"""Retention and roll-ups: keep raw runs for the retention window, aggregates beyond it.

One pass (``run_retention``) does, in short write transactions:

1. **Expire raw runs.** For every whole hour older than ``raw_s`` (``auditor.store.retention``),
   per chunk of checks: aggregate that hour's runs into ``run_rollup`` (period ``hour``) and
   delete exactly those runs, in the same transaction.
2. **Hourly roll-ups** of completed hours still inside the window (the dashboard's 7-day
   chart), from just before the newest hourly bucket onwards (the watermark is the table).
3. **Daily roll-ups** of completed days, as sums of their hourly buckets (the 30-day chart).
4. **Prune** hourly buckets older than ``hourly_s`` (their days are rolled up) and daily
   buckets older than ``daily_s``, so the database stays bounded.

The daemon's policy (:func:`policy_for`) keeps hourly buckets only as long as raw runs (at
least 8 days, for the 7-day chart): beyond the raw window only daily buckets remain (one row
per check and day), so the database stops growing once the window is full, while the 30- and
90-day charts still read the daily buckets.

Every bucket is *replaced* by the aggregate of what it summarises, never incremented, so a
pass is idempotent: running it twice, or on several nodes at once, gives the same rows (on
PostgreSQL a transaction-level advisory lock also keeps two nodes from doing the same batch).
Deleting runs never touches the trigger-maintained metric counters (insert-only triggers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from auditor.store.audit_log import prune_events
from auditor.store.db import Database
from auditor.store.evidence import prune_evidence
from auditor.store.models import Rollup, Run, utcnow

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: PostgreSQL advisory lock key for retention batches (any constant unique to this job)
ADVISORY_KEY = 0x5245_5445  # "RETE"
#: hours before the newest hourly bucket that are re-aggregated (late-written runs)
RECOMPUTE_HOURS = 2

_COUNTS = {"pass": "count_pass", "warn": "count_warn", "fail": "count_fail", "error": "count_error"}


@dataclass(frozen=True)
class RetentionPolicy:
    raw_s: float = 30 * 86400.0
    hourly_s: float = 30 * 86400.0
    daily_s: float = 400 * 86400.0
    audit_s: float = 365 * 86400.0  # audit events (``[auditor] audit_retention``)
    #: at most this many raw runs are deleted per transaction
    batch_rows: int = 20_000

    def __post_init__(self) -> None:
        if self.raw_s < 3600 or self.hourly_s < 2 * 86400 or self.daily_s < self.hourly_s:
            raise ValueError("retention: raw ≥ 1h, hourly ≥ 2d and daily ≥ hourly are required")


#: hourly buckets are read by the 7-day chart: kept at least that long, plus a day
HOURLY_MIN_S = 8 * 86400.0
#: daily buckets (one row per check and day) feed the 30- and 90-day charts
DAILY_S = 400 * 86400.0


def policy_for(retention_s: float, audit_s: float = 365 * 86400.0) -> RetentionPolicy:
    """The daemon's policy for ``auditor.store.retention``: raw runs for the window, hourly buckets
    no longer than raw runs (but ≥ 8 days), daily buckets 400 days.

    Hourly buckets older than the 7-day chart are read by nothing once their day is rolled up;
    keeping them as long as raw runs is what makes the database flat after the window.
    """
    raw = max(retention_s, 3600.0)
    hourly = max(raw, HOURLY_MIN_S)
    daily = max(DAILY_S, hourly)
    return RetentionPolicy(raw_s=raw, hourly_s=hourly, daily_s=daily, audit_s=audit_s)


@dataclass
class RetentionReport:
    runs_deleted: int = 0
    hours_rolled: int = 0
    days_rolled: int = 0
    hourly_pruned: int = 0
    daily_pruned: int = 0
    audit_pruned: int = 0
    evidence_pruned: int = 0
    transactions: int = 0
    busy: bool = False  # another node held the lock; this pass stopped early
    complete: bool = True  # False when ``max_seconds`` ran out (the next pass continues)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def floor_hour(at: datetime) -> datetime:
    at = _aware(at)
    return at.replace(minute=0, second=0, microsecond=0)


def floor_day(at: datetime) -> datetime:
    return floor_hour(at).replace(hour=0)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class _Busy(Exception):
    pass


class _Retention:
    def __init__(
        self,
        store: Database,
        policy: RetentionPolicy,
        deadline: float | None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.should_stop = should_stop
        self.store = store
        self.policy = policy
        self.deadline = deadline
        self.report = RetentionReport()

    # -- plumbing -------------------------------------------------------------------------

    def out_of_time(self) -> bool:
        if (self.deadline is not None and time.monotonic() > self.deadline) or (
            self.should_stop is not None and self.should_stop()
        ):
            self.report.complete = False
            return True
        return False

    def _lock(self, s: Session) -> None:
        """One node at a time per batch on PostgreSQL (SQLite's BEGIN IMMEDIATE already is)."""
        self.report.transactions += 1
        if self.store.dialect == "postgresql":
            got = s.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})
            if not got.scalar():
                raise _Busy

    def _upsert(self, s: Session, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        table = Rollup.__table__  # type: ignore[attr-defined]
        ins: Any
        if self.store.dialect == "postgresql":
            ins = postgresql.insert(table)
        else:
            ins = sqlite.insert(table)
        cols = ("count_pass", "count_warn", "count_fail", "count_error")
        stmt = ins.on_conflict_do_update(
            index_elements=["check_id", "period", "bucket_start"],
            set_={c: ins.excluded[c] for c in (*cols, "duration_ms_sum", "duration_ms_max")},
        )
        for i in range(0, len(rows), 1000):
            s.execute(stmt, list(rows[i : i + 1000]))

    @staticmethod
    def _aggregate_runs(
        s: Session, start: datetime, check_ids: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Hourly buckets (one per check) of the runs started in ``[start, start + 1h)``."""
        stmt = (
            sa.select(
                col(Run.check_id),
                col(Run.status),
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(Run.duration_ms), 0.0),
                sa.func.coalesce(sa.func.max(Run.duration_ms), 0.0),
            )
            .where(col(Run.started_at) >= start, col(Run.started_at) < start + HOUR)
            .group_by(col(Run.check_id), col(Run.status))
        )
        if check_ids is not None:
            stmt = stmt.where(col(Run.check_id).in_(list(check_ids)))
        return _buckets(s.execute(stmt).all(), "hour", start)

    # -- 1. expire raw runs ---------------------------------------------------------------

    def expire_raw(self, now: datetime) -> None:
        cutoff = floor_hour(now - timedelta(seconds=self.policy.raw_s))
        while not self.out_of_time():
            with self.store.read() as s:
                oldest = s.execute(
                    sa.select(sa.func.min(Run.started_at)).where(col(Run.started_at) < cutoff)
                ).scalar()
            if oldest is None:
                return
            hour = floor_hour(oldest)
            with self.store.read() as s:
                per_check = s.execute(
                    sa.select(col(Run.check_id), sa.func.count())
                    .where(col(Run.started_at) >= hour, col(Run.started_at) < hour + HOUR)
                    .group_by(col(Run.check_id))
                    .order_by(col(Run.check_id))
                ).all()
            for chunk in _chunks(per_check, self.policy.batch_rows):
                if self.out_of_time():
                    return
                with self.store.write(background=True) as s:
                    self._lock(s)
                    self._upsert(s, self._aggregate_runs(s, hour, chunk))
                    deleted = s.execute(
                        sa.delete(Run).where(
                            col(Run.started_at) >= hour,
                            col(Run.started_at) < hour + HOUR,
                            col(Run.check_id).in_(list(chunk)),
                        )
                    )
                    self.report.runs_deleted += _rowcount(deleted)
                self.report.hours_rolled += 1

    # -- 2. hourly roll-ups inside the window ---------------------------------------------

    def roll_hours(self, now: datetime) -> None:
        current = floor_hour(now)
        cutoff = floor_hour(now - timedelta(seconds=self.policy.raw_s))
        with self.store.read() as s:
            newest = s.execute(
                sa.select(sa.func.max(Rollup.bucket_start)).where(col(Rollup.period) == "hour")
            ).scalar()
            if newest is not None:
                start = floor_hour(newest) - RECOMPUTE_HOURS * HOUR
            else:
                oldest = s.execute(sa.select(sa.func.min(Run.started_at))).scalar()
                if oldest is None:
                    return
                start = floor_hour(oldest)
        hour = max(start, cutoff)
        while hour < current and not self.out_of_time():
            with self.store.write(background=True) as s:
                self._lock(s)
                self._upsert(s, self._aggregate_runs(s, hour))
            self.report.hours_rolled += 1
            hour += HOUR

    # -- 3. daily roll-ups from hourly ----------------------------------------------------

    def roll_days(self, now: datetime) -> None:
        last_complete = floor_day(floor_hour(now))  # days ending by the last completed hour
        with self.store.read() as s:
            newest = s.execute(
                sa.select(sa.func.max(Rollup.bucket_start)).where(col(Rollup.period) == "day")
            ).scalar()
            if newest is not None:
                start = floor_day(newest) - DAY
            else:
                oldest = s.execute(
                    sa.select(sa.func.min(Rollup.bucket_start)).where(col(Rollup.period) == "hour")
                ).scalar()
                if oldest is None:
                    return
                start = floor_day(oldest)
        day = start
        while day < last_complete and not self.out_of_time():
            with self.store.write(background=True) as s:
                self._lock(s)
                rows = s.execute(
                    sa.select(
                        col(Rollup.check_id),
                        sa.func.sum(Rollup.count_pass),
                        sa.func.sum(Rollup.count_warn),
                        sa.func.sum(Rollup.count_fail),
                        sa.func.sum(Rollup.count_error),
                        sa.func.sum(Rollup.duration_ms_sum),
                        sa.func.max(Rollup.duration_ms_max),
                    )
                    .where(
                        col(Rollup.period) == "hour",
                        col(Rollup.bucket_start) >= day,
                        col(Rollup.bucket_start) < day + DAY,
                    )
                    .group_by(col(Rollup.check_id))
                ).all()
                self._upsert(
                    s,
                    [
                        {
                            "check_id": r[0],
                            "period": "day",
                            "bucket_start": day,
                            "count_pass": int(r[1] or 0),
                            "count_warn": int(r[2] or 0),
                            "count_fail": int(r[3] or 0),
                            "count_error": int(r[4] or 0),
                            "duration_ms_sum": float(r[5] or 0.0),
                            "duration_ms_max": float(r[6] or 0.0),
                        }
                        for r in rows
                    ],
                )
            self.report.days_rolled += 1
            day += DAY

    # -- 4. prune old buckets -------------------------------------------------------------

    def prune(self, now: datetime) -> None:
        with self.store.read() as s:
            newest_day = s.execute(
                sa.select(sa.func.max(Rollup.bucket_start)).where(col(Rollup.period) == "day")
            ).scalar()
        hourly_cutoff = floor_day(now - timedelta(seconds=self.policy.hourly_s))
        if newest_day is not None:  # only hours whose day is rolled up
            hourly_cutoff = min(hourly_cutoff, floor_day(newest_day))
        else:
            hourly_cutoff = datetime.min.replace(tzinfo=UTC)
        daily_cutoff = floor_day(now - timedelta(seconds=self.policy.daily_s))
        for period, cutoff in (("hour", hourly_cutoff), ("day", daily_cutoff)):
            if self.out_of_time():
                return
            with self.store.write(background=True) as s:
                self._lock(s)
                result = s.execute(
                    sa.delete(Rollup).where(
                        col(Rollup.period) == period, col(Rollup.bucket_start) < cutoff
                    )
                )
            n = _rowcount(result)
            if period == "hour":
                self.report.hourly_pruned += n
            else:
                self.report.daily_pruned += n


def _buckets(rows: Iterable[Any], period: str, start: datetime) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for check_id, status, n, dsum, dmax in rows:
        b = out.get(check_id)
        if b is None:
            b = out[check_id] = {
                "check_id": check_id,
                "period": period,
                "bucket_start": start,
                "count_pass": 0,
                "count_warn": 0,
                "count_fail": 0,
                "count_error": 0,
                "duration_ms_sum": 0.0,
                "duration_ms_max": 0.0,
            }
        b[_COUNTS.get(str(status), "count_error")] += int(n)
        b["duration_ms_sum"] += float(dsum or 0.0)
        b["duration_ms_max"] = max(b["duration_ms_max"], float(dmax or 0.0))
    return list(out.values())


def _chunks(per_check: Sequence[Any], limit: int) -> Iterable[list[str]]:
    chunk: list[str] = []
    rows = 0
    for check_id, n in per_check:
        if chunk and (rows + int(n) > limit or len(chunk) >= 5000):
            yield chunk
            chunk, rows = [], 0
        chunk.append(check_id)
        rows += int(n)
    if chunk:
        yield chunk


def run_retention(
    store: Database,
    now: datetime | None = None,
    policy: RetentionPolicy | None = None,
    *,
    max_seconds: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RetentionReport:
    """One retention pass (see the module docstring); safe to call from several nodes."""
    now = _aware(now or utcnow())
    t0 = time.monotonic()
    deadline = None if max_seconds is None else t0 + max_seconds
    job = _Retention(store, policy or RetentionPolicy(), deadline, should_stop)
    try:
        job.expire_raw(now)
        job.roll_hours(now)
        job.roll_days(now)
        job.prune(now)
        job.report.audit_pruned = prune_events(store, now - timedelta(seconds=job.policy.audit_s))
        job.report.evidence_pruned = prune_evidence(
            store, now - timedelta(seconds=job.policy.raw_s)
        )
    except _Busy:
        job.report.busy = True
        job.report.complete = False
    job.report.seconds = time.monotonic() - t0
    return job.report


def _rowcount(result: Any) -> int:
    return max(int(getattr(result, "rowcount", 0) or 0), 0)
