"""The alert outbox in the database: claim transitions, write deliveries, lease and record them.

Every SQL statement of the dispatcher's loop lives here. Claims use
``SELECT … FOR UPDATE SKIP LOCKED`` (the same code on SQLite, where the immediate write
transaction gives exclusivity), so several nodes can share the work. A transition is claimed,
planned, its deliveries written and itself marked processed in one transaction: a crash leaves
it pending, never half done.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from auditor.alerting.base import DeliveryError
from auditor.alerting.maintenance import Window, in_maintenance
from auditor.alerting.planner import OpenAlert, Plan, Subject
from auditor.store.db import Database
from auditor.store.models import (
    AlertDelivery,
    AlertState,
    Check,
    CheckState,
    MaintenanceWindow,
    Service,
    Transition,
)


@dataclass
class Claimed:
    """A batch of pending transitions with what planning them needs."""

    transitions: list[Transition]
    subjects: dict[str, Subject]  # by check id; absent when the check or service is gone
    alert_states: dict[tuple[str, str], AlertState]  # by (check id, receiver)


@dataclass(frozen=True)
class Leased:
    """A delivery this node holds until its lease ends, with what sending it needs."""

    id: str
    receiver: str
    attempts: int
    payload: dict[str, Any]


def _by_id(s: Session, model: type[Any], ids: list[str], key: Any) -> dict[str, Any]:
    return {getattr(r, key.key): r for r in s.exec(select(model).where(col(key).in_(ids))).all()}


def _subjects(s: Session, check_ids: list[str]) -> dict[str, Subject]:
    """Check, service and latest state of each check that (with its service) still exists."""
    checks: dict[str, Check] = _by_id(s, Check, check_ids, Check.id)
    svc_ids = list({c.service_id for c in checks.values()})
    services: dict[str, Service] = _by_id(s, Service, svc_ids, Service.id)
    cstates: dict[str, CheckState] = _by_id(s, CheckState, check_ids, CheckState.check_id)
    return {
        chk.id: Subject(services[chk.service_id], chk, cstates.get(chk.id))
        for chk in checks.values()
        if chk.service_id in services
    }


def acknowledge(store: Database, check_id: str, transition_id: str, by: str, now: datetime) -> None:
    """Record who acknowledged a state change on every alert state of its check (notes.ack)."""
    ack = {"by": by, "at": now.isoformat(), "transition_id": transition_id}
    with store.write() as s:
        for st in s.exec(select(AlertState).where(AlertState.check_id == check_id)).all():
            st.notes = {**(st.notes or {}), "ack": ack}
            s.add(st)


class Outbox:
    """Reads and writes ``transition``, ``alert_state`` and ``alert_delivery`` rows."""

    def __init__(
        self,
        store: Database,
        windows: Sequence[Window],
        *,
        node_id: str,
        lease_s: float,
        batch: int,
    ) -> None:
        self.store = store
        self.configured_windows = list(windows)
        self.node_id = node_id
        self.lease_s = lease_s
        self.batch = batch

    def windows(self, s: Session) -> list[Window]:
        """Configured maintenance windows plus those created through the API."""
        rows = s.exec(select(MaintenanceWindow).where(col(MaintenanceWindow.deleted_at).is_(None)))
        return self.configured_windows + [Window.from_row(r) for r in rows.all()]

    # -- planning -------------------------------------------------------------------------

    def claim_transitions(self, s: Session, now: datetime) -> Claimed | None:
        """Lease the oldest batch of pending transitions to this node (None: nothing pending)."""
        stmt = (
            select(Transition)
            .where(
                col(Transition.processed_at).is_(None),
                sa.or_(
                    col(Transition.claimed_until).is_(None),
                    col(Transition.claimed_until) < now,
                ),
            )
            .order_by(col(Transition.created_at), col(Transition.at))
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        )
        transitions = list(s.exec(stmt).all())
        if not transitions:
            return None
        check_ids = list({t.check_id for t in transitions})
        subjects = _subjects(s, check_ids)
        alert_states = {
            (a.check_id, a.receiver): a
            for a in s.exec(select(AlertState).where(col(AlertState.check_id).in_(check_ids)))
        }
        for t in transitions:
            t.claimed_by = self.node_id
            t.claimed_until = now + timedelta(seconds=self.lease_s)
        return Claimed(transitions, subjects, alert_states)

    def open_alerts(self, s: Session) -> list[OpenAlert]:
        """Every firing alert state (locked), with its subject and whether it is changing."""
        firing = list(
            s.exec(
                select(AlertState)
                .where(col(AlertState.firing).is_(True))
                .with_for_update(skip_locked=True)
            ).all()
        )
        if not firing:
            return []
        ids = list({a.check_id for a in firing})
        subjects = _subjects(s, ids)
        changing = set(
            s.exec(
                select(Transition.check_id)
                .where(col(Transition.processed_at).is_(None), col(Transition.check_id).in_(ids))
                .distinct()
            ).all()
        )
        return [OpenAlert(a, subjects.get(a.check_id), a.check_id in changing) for a in firing]

    def save(self, s: Session, plan: Plan) -> None:
        """Write what planning changed: alert states and delivery rows."""
        for ast in plan.states:
            s.add(ast)
        for d in plan.deliveries:
            s.add(d)

    @staticmethod
    def processed(s: Session, t: Transition, now: datetime) -> None:
        t.processed_at = now
        s.add(t)

    # -- delivering -----------------------------------------------------------------------

    def lease_heads(self, now: datetime, receivers: Container[str]) -> list[Leased]:
        """Lease the oldest pending delivery of each receiver, if it is due.

        The head is chosen per receiver (not from the oldest N pending rows overall), so a
        receiver with a long backlog cannot starve the others. The lease is
        ``next_attempt_at = now + lease``: a node killed mid-send is retried after it.
        """
        with self.store.write(background=True) as s:
            names = sorted(
                s.exec(
                    select(AlertDelivery.receiver)
                    .where(AlertDelivery.status == "pending")
                    .distinct()
                ).all()
            )
            heads: dict[str, AlertDelivery] = {}
            for name in names:
                head = s.exec(
                    select(AlertDelivery)
                    .where(AlertDelivery.status == "pending", AlertDelivery.receiver == name)
                    .order_by(col(AlertDelivery.created_at), col(AlertDelivery.id))
                    .limit(1)
                    .with_for_update()
                ).first()
                if head is not None:
                    heads[name] = head
            windows: list[Window] | None = None
            out = []
            for name, d in heads.items():
                if d.next_attempt_at is not None and d.next_attempt_at > now:
                    continue  # leased by a node, or backing off: later ones wait (order)
                if name not in receivers:
                    d.status, d.last_error, d.updated_at = "failed", "receiver not configured", now
                    s.add(d)
                    continue
                if windows is None:
                    windows = self.windows(s)
                if in_maintenance(windows, str(d.payload.get("service", "")), now):
                    d.status, d.last_error, d.updated_at = "suppressed", "maintenance window", now
                    s.add(d)
                    continue
                d.attempts = (d.attempts or 0) + 1
                d.next_attempt_at = now + timedelta(seconds=self.lease_s)
                d.updated_at = now
                s.add(d)
                out.append(Leased(d.id, d.receiver, d.attempts, dict(d.payload)))
            return out

    def record(
        self,
        results: list[tuple[Leased, DeliveryError | None]],
        now: datetime,
        backoff: Callable[[int], float],
    ) -> None:
        """Store send results: delivered, failed for good, or due again after ``backoff``.

        A row no longer pending (another node settled it after this lease ran out) is left
        alone.
        """
        with self.store.write(background=True) as s:
            for item, err in results:
                d = s.get(AlertDelivery, item.id)
                if d is None or d.status != "pending":
                    continue
                d.updated_at = now
                if err is None:
                    d.status = "delivered"
                    d.delivered_at = now
                    d.next_attempt_at = None
                    d.last_error = None
                    ast = s.get(AlertState, (str(item.payload.get("check_id")), item.receiver))
                    if ast is not None:
                        ast.last_sent_at = now
                        s.add(ast)
                else:
                    d.last_error = err.message[:500]
                    d.last_status_code = err.status_code
                    if err.permanent:
                        d.status = "failed"
                        d.next_attempt_at = None
                    else:
                        d.next_attempt_at = now + timedelta(seconds=backoff(item.attempts))
                s.add(d)
