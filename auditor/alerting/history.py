"""Delivery history for the API: what was sent to whom, with secrets left out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from auditor.alerting.render import rfc3339
from auditor.store.db import Database
from auditor.store.models import AlertDelivery, Transition


def _iso(value: datetime | None) -> str | None:
    return rfc3339(value) if value is not None else None


def delivery_view(d: AlertDelivery) -> dict[str, Any]:
    p = d.payload or {}
    return {
        "id": d.id,
        "transition_id": d.transition_id,
        "alert_id": p.get("id"),
        "receiver": d.receiver,
        "target": p.get("target", ""),
        "purpose": d.purpose,
        "status": d.status,
        "alert_status": p.get("status"),
        "service": p.get("service"),
        "service_id": p.get("service_id"),
        "check": p.get("check"),
        "check_id": p.get("check_id"),
        "state": p.get("state"),
        "previous_state": p.get("previous_state"),
        "attempts": d.attempts,
        "next_attempt_at": _iso(d.next_attempt_at),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "delivered_at": _iso(d.delivered_at),
        "created_at": _iso(d.created_at),
        "updated_at": _iso(d.updated_at),
    }


def list_deliveries(
    store: Database,
    *,
    service_id: str | None = None,
    check_id: str | None = None,
    receiver: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Delivery history, newest first: ``(rows as dicts, total matching)``.

    Rows carry the receiver's name and a redacted target, never a secret or a full URL.
    Filter by service / check (through the transition), receiver name or status
    (``pending | delivered | failed | suppressed``).
    """
    with store.read() as s:
        stmt = select(AlertDelivery).join(
            Transition, col(Transition.id) == col(AlertDelivery.transition_id)
        )
        if service_id:
            stmt = stmt.where(Transition.service_id == service_id)
        if check_id:
            stmt = stmt.where(Transition.check_id == check_id)
        if receiver:
            stmt = stmt.where(AlertDelivery.receiver == receiver)
        if status:
            stmt = stmt.where(AlertDelivery.status == status)
        total = int(s.exec(select(sa.func.count()).select_from(stmt.subquery())).one())
        rows = s.exec(
            stmt.order_by(col(AlertDelivery.created_at).desc(), col(AlertDelivery.id))
            .offset(offset)
            .limit(limit)
        ).all()
    return [delivery_view(d) for d in rows], total
