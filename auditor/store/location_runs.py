"""Completing located runs: each location's own state, then the check's state by quorum.

Called by :func:`auditor.store.runs.complete` inside its transaction for runs whose claim
has a location. A run moves its location's schedule and folds into that location's
debounced state (the check's thresholds, per location); then the check's latest-state row
is locked (``FOR UPDATE``: two locations finishing at once are serialised, so neither
combines from the other's stale row) and rebuilt from every location's row with the
scheduler's quorum rule, writing a transition when the combined state changes. So
readiness, alerts, metrics and the gate read one state per check as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from auditor.probe.outcome import RunResult
from auditor.store.claims import Claim
from auditor.store.location_models import CheckLocation
from auditor.store.models import CheckState, Node, Transition

#: ``auditor.store.runs.CompletionRules`` (not imported: runs imports this module)
CompletionRules = Any
#: a kind's facts -> the few kept on the latest-state row (``runs.metric_facts``)
FactsOf = Callable[[str, Mapping[str, Any]], dict[str, Any]]

#: a location is live while one of its workers beat within this (they beat every 10 s)
LIVE_WITHIN_S = 30.0


def complete_located(
    s: Session,
    rules: CompletionRules,
    items: Sequence[tuple[Claim, RunResult, str | None]],
    checks: Mapping[str, dict[str, Any]],
    worker: str,
    now: datetime,
    reschedule: bool,
    facts_of: FactsOf,
) -> list[str]:
    """Store the located runs' effects; the ids of runs written (see the module doc)."""
    written: list[str] = []
    latest: dict[str, tuple[Claim, RunResult, str]] = {}
    for claim, result, run_id in sorted(items, key=lambda i: (i[0].check_id, i[0].location)):
        chk = checks.get(claim.check_id)
        row = s.get(CheckLocation, (claim.check_id, claim.location), with_for_update=True)
        if row is None or chk is None:
            if run_id is not None:
                written.append(run_id)
            continue
        if reschedule and (
            row.lease_owner == worker or (row.lease_owner is None and run_id is not None)
        ):
            if row.next_run_at == claim.due_at:
                row.next_run_at = rules.next_due(
                    chk["id"],
                    chk["interval_s"],
                    chk["schedule"],
                    max(now, claim.due_at),
                    chk["jitter_s"],
                )
            row.lease_owner = None
            row.lease_until = None
        if run_id is not None:
            written.append(run_id)
            _fold(rules, row, chk, result, run_id)
            prev = latest.get(claim.check_id)
            if prev is None or result.started_at >= prev[1].started_at:
                latest[claim.check_id] = (claim, result, run_id)
        s.add(row)
    s.flush()
    live = live_locations(s, now)
    for check_id in sorted(latest):
        claim, result, run_id = latest[check_id]
        _recombine(s, rules, checks[check_id], claim, result, run_id, live, now, facts_of)
    return written


def live_locations(s: Session, now: datetime) -> set[str]:
    """Locations with a worker that beat within ``LIVE_WITHIN_S``."""
    cutoff = now - timedelta(seconds=LIVE_WITHIN_S)
    return set(
        s.exec(
            select(Node.location)
            .where(col(Node.last_seen_at) >= cutoff, col(Node.location) != "")
            .distinct()
        ).all()
    )


def _fold(
    rules: CompletionRules,
    row: CheckLocation,
    chk: Mapping[str, Any],
    result: RunResult,
    run_id: str,
) -> None:
    prev: dict[str, Any] = {
        "state": row.state,
        "since": row.since,
        "consecutive_fail": row.consecutive_fail,
        "consecutive_pass": row.consecutive_pass,
        "consecutive_warn": row.consecutive_warn,
        "consecutive_error": row.consecutive_error,
    }
    stale = timedelta(seconds=3 * chk["interval_s"])
    if result.status != "error" and row.last_run_at and result.started_at - row.last_run_at > stale:
        prev = {"state": "unknown", "since": row.since}  # stale: the next run sets it anew
    limits = {
        key: chk[key]
        for key in ("failure_threshold", "success_threshold", "consecutive_error_limit")
    }
    snap = rules.next_state(prev, str(result.status), result.started_at, limits)
    row.state, row.since = snap.state, snap.since
    row.consecutive_fail, row.consecutive_pass = snap.consecutive_fail, snap.consecutive_pass
    row.consecutive_warn, row.consecutive_error = snap.consecutive_warn, snap.consecutive_error
    row.raw_status = str(result.status)
    row.last_run_id, row.last_run_at = run_id, result.started_at
    row.last_duration_ms = result.duration_ms
    row.last_summary = result.summary[:2000]
    row.last_findings = [f.to_dict() for f in result.findings]


def _recombine(
    s: Session,
    rules: CompletionRules,
    chk: Mapping[str, Any],
    claim: Claim,
    result: RunResult,
    run_id: str,
    live: set[str],
    now: datetime,
    facts_of: FactsOf,
) -> None:
    """Rebuild one check's latest-state row from its locations, under a row lock."""
    assert rules.combine is not None, "located runs need CompletionRules.combine"
    table: sa.Table = CheckState.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    fresh = CheckState(check_id=claim.check_id, service_id=claim.service_id).model_dump()
    s.execute(insert(table).values(**fresh).on_conflict_do_nothing())
    state = s.get(CheckState, claim.check_id, with_for_update=True, populate_existing=True)
    assert state is not None
    rows = {
        r.location: r
        for r in s.exec(select(CheckLocation).where(CheckLocation.check_id == claim.check_id))
    }
    views = []
    for location in chk["locations"] or []:
        row = rows.get(location)
        views.append(
            {
                "location": location,
                "state": row.state if row else "unknown",
                "last_run_at": row.last_run_at if row else None,
                "live": location in live,
                "findings": list(row.last_findings) if row else [],
            }
        )
    combined = rules.combine(views, chk["quorum"] or 1, chk["interval_s"], now)
    if combined.state != state.state:
        s.add(
            Transition(
                check_id=claim.check_id,
                service_id=claim.service_id,
                previous_state=state.state,
                state=combined.state,
                run_id=run_id,
                findings=combined.findings,
                at=result.started_at,
            )
        )
        state.since = result.started_at
    state.state = combined.state
    state.raw_status = str(result.status)
    state.last_run_id, state.last_run_at = run_id, result.started_at
    state.last_duration_ms = result.duration_ms
    state.last_summary = combined.summary[:2000]
    state.last_findings = combined.findings
    state.last_error_kind = result.error_kind
    state.metrics = {**facts_of(claim.kind, result.facts), "failing": list(combined.failing)}
    state.runs_total = (state.runs_total or 0) + 1
    state.updated_at = now
    s.add(state)
