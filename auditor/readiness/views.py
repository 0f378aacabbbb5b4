"""What the dashboard's service page reads: one service, its checks, alerts and history rows.

Bounded, indexed reads only (never a history scan): at most :data:`RAW_LIMIT` recent runs
(index ``ix_run_check_started``), else the roll-ups of the range. The page reads it all in
one session: one pooled connection for its dozen small reads. Statements are built once:
building and keying a statement costs more than running it for one service.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from auditor.readiness.model import ServiceReadiness
from auditor.readiness.queries import service_readiness_in
from auditor.store.db import Database
from auditor.store.models import (
    AlertDelivery,
    AlertState,
    Check,
    CheckState,
    Rollup,
    Run,
    Service,
    Transition,
)

RAW_LIMIT = 3000


@dataclass
class ServiceReads:
    """One service with its readiness, live checks, states and recent alert activity."""

    service: Service
    readiness: ServiceReadiness
    checks: dict[str, Check]
    states: dict[str, CheckState]
    transitions: list[Transition]
    deliveries: dict[str, list[AlertDelivery]]
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def names(self) -> dict[str, str]:
        """Check names by id (transitions name their check by id)."""
        return {c.id: c.name for c in self.checks.values()}


@dataclass(frozen=True)
class HistoryRows:
    """The rows behind a chart range: roll-ups when the range has them, else raw runs
    as ``(check_id, status, started_at, duration_ms)``, newest first."""

    rollups: list[Rollup]
    runs: list[tuple[str, str, datetime, float | None]]

    @property
    def truncated(self) -> bool:
        return len(self.runs) >= RAW_LIMIT


@functools.cache
def _stmts() -> dict[str, Any]:
    """The page's reads (parameters ``name``, ``sid``, ``ids``, ``start``, ``period``)."""
    ids: Any = sa.bindparam("ids", expanding=True)
    return {
        "service": select(Service).where(
            Service.name == sa.bindparam("name"), col(Service.deleted_at).is_(None)
        ),
        "checks": select(Check).where(
            Check.service_id == sa.bindparam("sid"), col(Check.deleted_at).is_(None)
        ),
        "states": select(CheckState).where(CheckState.service_id == sa.bindparam("sid")),
        "transitions": select(Transition)
        .where(Transition.service_id == sa.bindparam("sid"))
        .order_by(col(Transition.at).desc())
        .limit(20),
        "deliveries": select(AlertDelivery)
        .where(col(AlertDelivery.transition_id).in_(ids))
        .order_by(col(AlertDelivery.created_at).desc())
        .limit(100),
        "acks": select(AlertState).where(col(AlertState.check_id).in_(ids)),
        "rollups": select(Rollup).where(
            col(Rollup.check_id).in_(ids),
            Rollup.period == sa.bindparam("period"),
            col(Rollup.bucket_start) >= sa.bindparam("start"),
        ),
        "runs": select(Run.check_id, Run.status, Run.started_at, Run.duration_ms)
        .where(col(Run.check_id).in_(ids), col(Run.started_at) >= sa.bindparam("start"))
        .order_by(col(Run.started_at).desc())
        .limit(RAW_LIMIT),
    }


def _service_reads(s: Session, svc: Service, now: datetime) -> ServiceReads:
    q = _stmts()
    readiness = service_readiness_in(s, svc.id, now)
    one = {"sid": svc.id}
    checks = {c.id: c for c in s.exec(q["checks"], params=one).all()}
    states = {st.check_id: st for st in s.exec(q["states"], params=one).all()}
    transitions = list(s.exec(q["transitions"], params=one).all())
    deliveries: dict[str, list[AlertDelivery]] = {}
    if transitions:
        for d in s.exec(q["deliveries"], params={"ids": [t.id for t in transitions]}).all():
            deliveries.setdefault(d.transition_id, []).append(d)
    acks: dict[str, dict[str, Any]] = {}
    if checks:
        for a in s.exec(q["acks"], params={"ids": list(checks)}).all():
            ack = (a.notes or {}).get("ack")
            if isinstance(ack, dict):
                acks[a.check_id] = ack
    return ServiceReads(svc, readiness, checks, states, transitions, deliveries, acks)


def _history_rows(
    s: Session, check_ids: Sequence[str], start: datetime, period: str | None
) -> HistoryRows:
    q = _stmts()
    ids = list(check_ids)
    if not ids:
        return HistoryRows([], [])
    if period is not None:
        params = {"ids": ids, "period": period, "start": start}
        rollups = list(s.exec(q["rollups"], params=params).all())
        if rollups:
            return HistoryRows(rollups, [])
    runs = s.exec(q["runs"], params={"ids": ids, "start": start}).all()
    return HistoryRows([], [(cid, status, at, dur) for cid, status, at, dur in runs])


def read_service_page(
    db: Database, name: str, now: datetime, start: datetime, period: str | None
) -> tuple[ServiceReads, HistoryRows] | None:
    """The live service named ``name`` with its history since ``start`` (roll-ups of
    ``period`` first), in one read session; None when there is no such service."""
    with db.read() as s:
        svc = s.exec(_stmts()["service"], params={"name": name}).first()
        if svc is None:
            return None
        reads = _service_reads(s, svc, now)
        check_ids = [c.check_id for c in reads.readiness.checks if c.check_id]
        return reads, _history_rows(s, check_ids, start, period)


def history_rows(
    db: Database, check_ids: Sequence[str], start: datetime, period: str | None
) -> HistoryRows:
    """:func:`read_service_page`'s history alone, for any checks."""
    with db.read() as s:
        return _history_rows(s, check_ids, start, period)


def run_with_owners(db: Database, run_id: str) -> tuple[Run, Check | None, Service | None] | None:
    """A run with its check and service (either may be gone)."""
    with db.read() as s:
        run = s.get(Run, run_id)
        if run is None:
            return None
        return run, s.get(Check, run.check_id), s.get(Service, run.service_id)


def run_facts(db: Database, run_id: str) -> Mapping[str, Any] | None:
    """Only the facts of one run (the page shows a value from the latest backups run)."""
    with db.read() as s:
        facts = s.exec(select(Run.facts).where(Run.id == run_id)).first()
    return facts if isinstance(facts, Mapping) else None
