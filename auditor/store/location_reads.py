"""Reading located checks back: each location's latest state, for metrics and the dashboard.

One query over ``check_location`` (bounded by checks × locations, never by history) plus
the live nodes. A location a check names but no worker ever adopted has no row yet: it is
listed all the same (state ``unknown``), so a missing location shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from auditor.store.db import Database
from auditor.store.location_models import CheckLocation
from auditor.store.location_runs import LIVE_WITHIN_S, live_locations
from auditor.store.models import Check, Node, Service, utcnow


@dataclass(frozen=True)
class LocationRow:
    service_id: str
    service: str
    check_id: str
    check: str
    kind: str
    interval_s: float
    location: str
    state: str
    last_run_at: datetime | None
    last_duration_ms: float | None
    last_summary: str
    #: a worker of this location beat within the last 30 s
    live: bool


def location_rows(
    db: Database, *, service_id: str | None = None, now: datetime | None = None
) -> list[LocationRow]:
    """Every (enabled located check, location) pair, in service/check/location order."""
    now = now or utcnow()
    stmt = (
        select(Check, Service)
        .join(Service, col(Service.id) == col(Check.service_id))
        .where(
            col(Check.quorum).is_not(None),
            col(Check.enabled).is_(True),
            col(Check.deleted_at).is_(None),
            col(Service.enabled).is_(True),
            col(Service.deleted_at).is_(None),
        )
        .order_by(col(Service.name), col(Check.name))
    )
    if service_id is not None:
        stmt = stmt.where(col(Check.service_id) == service_id)
    out: list[LocationRow] = []
    with db.read() as s:
        pairs = list(s.exec(stmt).all())
        if not pairs:
            return out
        live = live_locations(s, now)
        ids = [chk.id for chk, _ in pairs]
        rows = {
            (r.check_id, r.location): r
            for r in s.exec(select(CheckLocation).where(col(CheckLocation.check_id).in_(ids)))
        }
    for chk, svc in pairs:
        for location in sorted(chk.locations or []):
            row = rows.get((chk.id, location))
            out.append(
                LocationRow(
                    service_id=svc.id,
                    service=svc.name,
                    check_id=chk.id,
                    check=chk.name,
                    kind=chk.kind,
                    interval_s=chk.interval_s,
                    location=location,
                    state=row.state if row else "unknown",
                    last_run_at=row.last_run_at if row else None,
                    last_duration_ms=row.last_duration_ms if row else None,
                    last_summary=row.last_summary if row else "",
                    live=location in live,
                )
            )
    return out


def live_workers(db: Database, now: datetime | None = None) -> dict[str, int]:
    """Live worker processes per location (only located ones)."""
    cutoff = (now or utcnow()) - timedelta(seconds=LIVE_WITHIN_S)
    counts: dict[str, int] = {}
    with db.read() as s:
        for location in s.exec(
            select(Node.location).where(col(Node.last_seen_at) >= cutoff, col(Node.location) != "")
        ).all():
            counts[location] = counts.get(location, 0) + 1
    return counts
