"""Runs: storing finished runs with the check's new latest state, and reading them back.

A run is stored together with the check's new latest state, its transition (the alert
outbox) and its next due time, in one short write transaction. ``run(check_id, due_at)`` is
unique, so no check is stored twice for one due time. The state machine and the triggers
are pure rules that live above the store, in the scheduler; completion receives them as
``CompletionRules``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypedDict

import sqlalchemy as sa
from sqlmodel import Session, col, select

from auditor.probe.outcome import RunResult
from auditor.store.claims import CHECK_TABLE, Claim
from auditor.store.db import Database
from auditor.store.models import (
    CheckState,
    Run,
    Transition,
    new_id,
    utcnow,
)


class Counters(TypedDict, total=False):
    """A latest-state row's debounce counters, as the state machine reads them (absent: 0)."""

    state: str
    since: datetime | None
    consecutive_fail: int
    consecutive_pass: int
    consecutive_warn: int
    consecutive_error: int


class Limits(TypedDict, total=False):
    """A check's thresholds (absent: the state machine's defaults)."""

    failure_threshold: int
    success_threshold: int
    consecutive_error_limit: int


class Folded(Protocol):
    """The counters after one run (the scheduler's ``StateSnapshot``)."""

    @property
    def state(self) -> str: ...
    @property
    def since(self) -> datetime | None: ...
    @property
    def consecutive_fail(self) -> int: ...
    @property
    def consecutive_pass(self) -> int: ...
    @property
    def consecutive_warn(self) -> int: ...
    @property
    def consecutive_error(self) -> int: ...


@dataclass(frozen=True)
class CompletionRules:
    """The pure rules completion applies; the scheduler builds them (it sits above the store)."""

    #: fold one raw status (run start ``at``) into the previous counters
    next_state: Callable[[Counters, str, datetime, Limits], Folded]
    #: (check id, interval_s, cron schedule, after, jitter_s) -> the next due time after ``after``
    next_due: Callable[[str, float, str | None, datetime, float], datetime]
    #: a located check's state from its locations' rows (``auditor.store.location_runs``)
    combine: Callable[[list[dict[str, Any]], int, float, datetime], Any] | None = None


def complete(
    db: Database,
    rules: CompletionRules,
    items: Sequence[tuple[Claim, RunResult]],
    worker: str,
    now: datetime | None = None,
    *,
    reschedule: bool = True,
    background: bool = False,
) -> list[str]:
    """Store a batch of finished runs with state, transitions and next due times.

    Returns the ids of runs actually written; a run whose (check, due time) was already
    stored by another worker is skipped (at most one run per due time). One transaction
    with a few set-based statements (Core, not ORM objects): a worker stores every run
    through here, so its cost per run bounds how many checks one process can keep on time.
    """
    now = now or utcnow()
    written: list[str] = []
    if not items:
        return written
    with db.write(background=background) as s:
        conn = s.connection()
        ids = list({c.check_id for c, _ in items})
        checks = {
            row.id: dict(row._mapping)
            for row in conn.execute(sa.select(*_CHECK_COLS).where(CHECK_TABLE.c.id.in_(ids)))
        }
        states = {
            row.check_id: dict(row._mapping)
            for row in conn.execute(sa.select(*_STATE_READ).where(_STATE.c.check_id.in_(ids)))
        }
        run_ids = _insert_runs(db, s, items, worker)
        moved: dict[str, dict[str, Any]] = {}
        touched: dict[str, dict[str, Any]] = {}
        added: set[str] = set()
        located: list[tuple[Claim, RunResult, str | None]] = []
        for (claim, result), run_id in zip(items, run_ids, strict=True):
            chk = checks.get(claim.check_id)
            if claim.location:
                located.append((claim, result, run_id))
                continue
            if chk is not None and chk["quorum"] is not None:
                # a one-shot run of a located check (``audit``) is history, not a location's
                # vote: the quorum state is left to the locations
                if run_id is not None:
                    written.append(run_id)
                continue
            if reschedule and chk is not None:
                # only the lease holder (or a late writer whose run still counted) moves the
                # schedule, and only from the due time it ran: a result that lost its lease
                # to another worker must not skip that worker's slot
                ours = chk["lease_owner"] == worker or (
                    chk["lease_owner"] is None and run_id is not None
                )
                if ours:
                    if chk["next_run_at"] == claim.due_at:
                        chk["next_run_at"] = rules.next_due(
                            chk["id"],
                            chk["interval_s"],
                            chk["schedule"],
                            max(now, claim.due_at),
                            chk["jitter_s"],
                        )
                    chk["lease_owner"] = None
                    moved[chk["id"]] = chk
            if run_id is None:
                continue
            written.append(run_id)
            state = states.get(claim.check_id)
            if state is None:
                state = CheckState(
                    check_id=claim.check_id, service_id=claim.service_id
                ).model_dump()
                states[claim.check_id] = state
                added.add(claim.check_id)
            limits = (
                Limits(
                    failure_threshold=chk["failure_threshold"],
                    success_threshold=chk["success_threshold"],
                    consecutive_error_limit=chk["consecutive_error_limit"],
                )
                if chk
                else Limits()
            )
            transition = _apply_state(rules, state, claim, result, run_id, limits, now)
            if transition is not None:
                s.add(transition)
            touched[claim.check_id] = state
        if moved:
            conn.execute(
                sa.update(CHECK_TABLE)
                .where(CHECK_TABLE.c.id == sa.bindparam("b_id"))
                .values(next_run_at=sa.bindparam("b_next"), lease_owner=None, lease_until=None),
                [{"b_id": c["id"], "b_next": c["next_run_at"]} for c in moved.values()],
            )
        if added:
            conn.execute(_STATE.insert(), [states[i] for i in added])
        updates = [st for cid, st in touched.items() if cid not in added]
        if updates:
            conn.execute(
                sa.update(_STATE)
                .where(_STATE.c.check_id == sa.bindparam("b_check_id"))
                .values({c: sa.bindparam(f"b_{c}") for c in _STATE_WRITTEN}),
                [{f"b_{k}": st[k] for k in ("check_id", *_STATE_WRITTEN)} for st in updates],
            )
        if located:
            from auditor.store.location_runs import complete_located

            written += complete_located(
                s, rules, located, checks, worker, now, reschedule, metric_facts
            )
    return written


def _insert_runs(
    db: Database, s: Session, items: Sequence[tuple[Claim, RunResult]], worker: str
) -> list[str | None]:
    """Insert the runs; each item's run id, or None where its due time was already stored."""
    created = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "check_id": claim.check_id,
            "service_id": claim.service_id,
            "status": str(result.status),
            "summary": result.summary[:2000],
            "findings": [f.to_dict() for f in result.findings],
            "facts": result.facts,
            "duration_ms": result.duration_ms,
            "started_at": result.started_at,
            "due_at": claim.due_at,
            "error": result.error,
            "error_kind": result.error_kind,
            "worker": worker,
            "location": claim.location,
            "created_at": created,
        }
        for claim, result in items
    ]
    conn = s.connection()
    if db.dialect in ("postgresql", "sqlite"):
        stmt = (
            db.insert(_RUN)
            .on_conflict_do_nothing(index_elements=["check_id", "location", "due_at"])
            .returning(_RUN.c.id)
        )
        inserted = {row[0] for row in conn.execute(stmt, rows)}
        return [r["id"] if r["id"] in inserted else None for r in rows]
    out: list[str | None] = []
    for row in rows:
        try:
            with s.begin_nested():
                conn.execute(_RUN.insert(), row)
        except sa.exc.IntegrityError:
            out.append(None)
        else:
            out.append(row["id"])
    return out


def _apply_state(
    rules: CompletionRules,
    state: dict[str, Any],
    claim: Claim,
    result: RunResult,
    run_id: str,
    limits: Limits,
    now: datetime,
) -> Transition | None:
    """Fold one stored run into a latest-state row (in place); the transition, if any."""
    prev = Counters(
        state=state["state"],
        since=state["since"],
        consecutive_fail=state["consecutive_fail"],
        consecutive_pass=state["consecutive_pass"],
        consecutive_warn=int((state["metrics"] or {}).get("_consecutive_warn", 0)),
        consecutive_error=state["consecutive_error"],
    )
    # a stale state (no run for 3 intervals) restarts from unknown so the next measured
    # run sets it; an ``error`` run measured nothing, so it keeps the old state
    if (
        result.status != "error"
        and state["last_run_at"] is not None
        and result.started_at - state["last_run_at"] > timedelta(seconds=3 * claim.interval_s)
    ):
        prev = Counters(state="unknown", since=prev["since"])
    snap = rules.next_state(prev, str(result.status), result.started_at, limits)
    findings = [f.to_dict() for f in result.findings]
    transition = None
    if snap.state != state["state"]:
        transition = Transition(
            check_id=claim.check_id,
            service_id=claim.service_id,
            previous_state=state["state"],
            state=snap.state,
            run_id=run_id,
            findings=findings,
            at=result.started_at,
        )
    state.update(
        state=snap.state,
        since=snap.since,
        consecutive_fail=snap.consecutive_fail,
        consecutive_pass=snap.consecutive_pass,
        consecutive_error=snap.consecutive_error,
        raw_status=str(result.status),
        last_run_id=run_id,
        last_run_at=result.started_at,
        last_duration_ms=result.duration_ms,
        last_summary=result.summary[:2000],
        last_findings=findings,
        last_error_kind=result.error_kind,
        metrics={
            **metric_facts(claim.kind, result.facts),
            "_consecutive_warn": snap.consecutive_warn,
        },
        runs_total=(state["runs_total"] or 0) + 1,
        updated_at=now,
    )
    return transition


def metric_facts(kind: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The few facts metrics and the overview need, copied into the latest-state row."""
    out: dict[str, Any] = {}
    if kind == "tls":
        for key in ("not_after_ts", "days_left"):
            if key in facts:
                out[key] = facts[key]
    if kind == "headers":
        obs = facts.get("observatory")
        if isinstance(obs, Mapping):
            out["score"] = obs.get("score")
            out["grade"] = obs.get("grade")
    if kind == "health" and "status" in facts:
        out["http_status"] = facts.get("status")
    return out


_STATE: sa.Table = CheckState.__table__  # type: ignore[attr-defined]
_RUN: sa.Table = Run.__table__  # type: ignore[attr-defined]
#: what ``complete`` reads of each check
_CHECK_COLS = [
    CHECK_TABLE.c[name]
    for name in (
        "id",
        "lease_owner",
        "next_run_at",
        "interval_s",
        "schedule",
        "jitter_s",
        "failure_threshold",
        "success_threshold",
        "consecutive_error_limit",
        "quorum",
        "locations",
    )
]
#: what ``complete`` reads of each latest-state row (not the last findings and summary it
#: replaces: decoding them cost more than the rest of the read)
_STATE_READ = [
    _STATE.c[name]
    for name in (
        "check_id",
        "state",
        "since",
        "consecutive_fail",
        "consecutive_pass",
        "consecutive_error",
        "last_run_at",
        "metrics",
        "runs_total",
    )
]
#: what ``complete`` writes of each latest-state row
_STATE_WRITTEN = (
    "state",
    "since",
    "consecutive_fail",
    "consecutive_pass",
    "consecutive_error",
    "raw_status",
    "last_run_id",
    "last_run_at",
    "last_duration_ms",
    "last_summary",
    "last_findings",
    "last_error_kind",
    "metrics",
    "runs_total",
    "updated_at",
)


# -- reads ----------------------------------------------------------------------------------


def runs_for(db: Database, check_id: str, limit: int = 50) -> list[Run]:
    """A check's latest runs, newest first."""
    with db.read() as s:
        return list(
            s.exec(
                select(Run)
                .where(Run.check_id == check_id)
                .order_by(col(Run.started_at).desc())
                .limit(limit)
            ).all()
        )
