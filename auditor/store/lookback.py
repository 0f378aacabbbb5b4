"""The read-only look back checks get through ``ctx.history``: earlier facts, pings, attestations.

Plain queries; the scheduler's ``StoreHistory`` adapts them to the checks' ``History``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select

from auditor.store.db import Database
from auditor.store.models import Attestation, HeartbeatPing, Run


def previous_facts(db: Database, check_id: str, limit: int = 1) -> list[Mapping[str, Any]]:
    """The facts of a check's latest measured (non-``error``) runs, newest first."""
    with db.read() as s:
        rows = s.exec(
            select(Run.facts)
            .where(Run.check_id == check_id, col(Run.status) != "error")
            .order_by(col(Run.started_at).desc())
            .limit(limit)
        ).all()
    return [dict(r) for r in rows]


def heartbeats(db: Database, check_id: str, limit: int = 50) -> list[Mapping[str, Any]]:
    """A check's latest heartbeat pings, newest first."""
    with db.read() as s:
        rows = s.exec(
            select(HeartbeatPing)
            .where(HeartbeatPing.check_id == check_id)
            .order_by(col(HeartbeatPing.at).desc())
            .limit(limit)
        ).all()
    return [{"kind": r.kind, "exit_code": r.exit_code, "at": r.at} for r in rows]


def attestation(db: Database, service_id: str, item: str) -> Mapping[str, Any] | None:
    """The newest live attestation of ``item`` for a service, if any."""
    with db.read() as s:
        row = s.exec(
            select(Attestation)
            .where(
                Attestation.service_id == service_id,
                Attestation.item == item,
                col(Attestation.deleted_at).is_(None),
            )
            .order_by(col(Attestation.signed_at).desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return {
        "item": row.item,
        "signed_by": row.signed_by,
        "evidence_url": row.evidence_url,
        "comment": row.comment,
        "signed_at": row.signed_at,
        "expires_at": row.expires_at,
    }
