"""The catalog: services and their checks, with each check's latest state.

Row-level helpers for whoever defines services and checks (config sync, API, dashboard),
used inside the caller's write transaction, plus the overview read.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from auditor.store.db import Database
from auditor.store.models import Check, CheckState, Service


def services_by_name(s: Session) -> dict[str, Service]:
    """Every service row (deleted ones too), by name."""
    return {svc.name: svc for svc in s.exec(select(Service)).all()}


def checks_by_name(s: Session, service_id: str) -> dict[str, Check]:
    """Every check row of a service (deleted ones too), by name."""
    return {c.name: c for c in s.exec(select(Check).where(Check.service_id == service_id)).all()}


def add_check(s: Session, chk: Check, now: datetime) -> None:
    """Insert a new check, due now, with its (unknown) latest-state row."""
    chk.next_run_at = now
    s.add(chk)
    s.flush()
    s.add(CheckState(check_id=chk.id, service_id=chk.service_id, updated_at=now))


def disable(s: Session, row: Service | Check, now: datetime) -> bool:
    """Disable an enabled service or check row (never delete it); False if already off."""
    if not row.enabled:
        return False
    row.enabled = False
    row.updated_at = now
    s.add(row)
    return True


def overview(db: Database) -> list[tuple[Service, list[tuple[Check, CheckState | None]]]]:
    """Services with their checks and latest states (no history scan)."""
    with db.read() as s:
        services = s.exec(
            select(Service).where(col(Service.deleted_at).is_(None)).order_by(col(Service.name))
        ).all()
        rows = s.exec(
            select(Check, CheckState)
            .join(CheckState, col(CheckState.check_id) == col(Check.id), isouter=True)
            .where(col(Check.deleted_at).is_(None))
            .order_by(col(Check.name))
        ).all()
    by_service: dict[str, list[tuple[Check, CheckState | None]]] = {}
    for chk, st in rows:
        by_service.setdefault(chk.service_id, []).append((chk, st))
    return [(svc, by_service.get(svc.id, [])) for svc in services]
