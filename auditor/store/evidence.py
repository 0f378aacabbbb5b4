"""Repository of pushed evidence and deploy events (issue #20).

A push is one short write transaction: the service is re-read inside it and the row added,
so a report is either stored whole with its summary or not at all. Reads return plain rows;
the look-back mappings the checks get come from :func:`latest_evidence` and
:func:`latest_deploy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select

from auditor.store.db import Database
from auditor.store.errors import NotFound
from auditor.store.evidence_models import DeployEvent, Evidence
from auditor.store.models import Check, Service
from auditor.store.service_admin import load_service

#: what a listing returns: every column but the raw report
LISTED = ("id", "service_id", "item", "format", "verdict", "summary", "pushed_by", "commit",
          "version", "report_size", "report_sha256", "pushed_at", "created_at", "updated_at")  # fmt: skip


def _listed() -> sa.Select[Any]:
    table: sa.Table = Evidence.__table__  # type: ignore[attr-defined]
    return sa.select(*(table.c[name] for name in LISTED))


def evidence_checks(db: Database, service_id: str) -> list[Check]:
    """The service's enabled ``evidence`` checks (they define its items), else NotFound."""
    with db.read() as s:
        load_service(s, service_id)
        rows = s.exec(
            select(Check).where(
                Check.service_id == service_id, Check.kind == "evidence", col(Check.enabled)
            )
        ).all()
    return list(rows)


def add_evidence(db: Database, row: Evidence) -> Evidence:
    """Store a report for a live service in one transaction, else NotFound ("service")."""
    with db.write() as s:
        load_service(s, row.service_id)
        s.add(row)
    return row


def add_deploy(db: Database, row: DeployEvent) -> DeployEvent:
    with db.write() as s:
        load_service(s, row.service_id)
        s.add(row)
    return row


def list_evidence(
    db: Database, service_id: str, *, item: str | None, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a service's evidence, newest first, without report bytes; and the total."""
    with db.read() as s:
        load_service(s, service_id)
        where = [col(Evidence.service_id) == service_id]
        if item is not None:
            where.append(col(Evidence.item) == item)
        total = s.exec(select(func.count()).select_from(Evidence).where(*where)).one()
        rows = s.execute(
            _listed().where(*where)
            .order_by(col(Evidence.pushed_at).desc(), col(Evidence.id))
            .offset(offset).limit(limit)
        ).all()  # fmt: skip
    return [dict(r._mapping) for r in rows], int(total)


def service_id_named(db: Database, name: str) -> str | None:
    """The id of the live service called ``name`` (the dashboard's URLs name services)."""
    with db.read() as s:
        row = s.exec(
            select(Service.id).where(Service.name == name, col(Service.deleted_at).is_(None))
        ).first()
    return row


def get_evidence(db: Database, service_id: str, evidence_id: str) -> Evidence:
    """One evidence row with its report bytes, else NotFound ("evidence")."""
    with db.read() as s:
        row = s.get(Evidence, evidence_id)
    if row is None or row.service_id != service_id:
        raise NotFound("evidence")
    return row


def latest_per_item(db: Database, service_id: str) -> dict[str, dict[str, Any]]:
    """The newest evidence of each item of a service (the dashboard's evidence list)."""
    out: dict[str, dict[str, Any]] = {}
    with db.read() as s:
        rows = s.execute(
            _listed().where(col(Evidence.service_id) == service_id)
            .order_by(col(Evidence.pushed_at).desc()).limit(500)
        ).all()  # fmt: skip
    for r in rows:
        out.setdefault(r.item, dict(r._mapping))
    return out


def latest_evidence(db: Database, service_id: str, item: str) -> Mapping[str, Any] | None:
    """The look-back mapping of the newest report of ``item`` (``History.evidence``)."""
    with db.read() as s:
        row = s.execute(
            _listed().where(col(Evidence.service_id) == service_id, col(Evidence.item) == item)
            .order_by(col(Evidence.pushed_at).desc()).limit(1)
        ).first()  # fmt: skip
    if row is None:
        return None
    m = row._mapping
    return {"id": m["id"], "format": m["format"], "verdict": m["verdict"],
            "version": m["version"], "commit": m["commit"], "pushed_by": m["pushed_by"],
            "pushed_at": m["pushed_at"].isoformat(), "summary": dict(m["summary"] or {}),
            "finished_at": (m["summary"] or {}).get("finished_at")}  # fmt: skip


def latest_deploy(db: Database, service_id: str) -> Mapping[str, Any] | None:
    """The newest deploy event of a service (``History.deployed_version``)."""
    with db.read() as s:
        row = s.exec(
            select(DeployEvent).where(DeployEvent.service_id == service_id)
            .order_by(col(DeployEvent.at).desc()).limit(1)
        ).first()  # fmt: skip
    if row is None:
        return None
    return {"version": row.version, "commit": row.commit, "at": row.at}


def prune_evidence(db: Database, before: datetime) -> int:
    """Delete reports pushed before ``before`` (the raw retention window), except each
    item's newest, which the check still judges; returns how many went."""
    table: sa.Table = Evidence.__table__  # type: ignore[attr-defined]
    newer = table.alias("newer")
    has_newer = (
        sa.select(newer.c.id)
        .where(
            newer.c.service_id == table.c.service_id,
            newer.c.item == table.c.item,
            newer.c.pushed_at > table.c.pushed_at,
        )
        .exists()
    )
    with db.write(background=True) as s:
        result = s.execute(sa.delete(table).where(table.c.pushed_at < before, has_newer))
    return max(int(getattr(result, "rowcount", 0) or 0), 0)
