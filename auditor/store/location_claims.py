"""Claims of located checks: each probe location leases its own copy of each due run.

A check with ``locations`` (PostgreSQL) is scheduled per (check, location) in
``check_location``, with the same ``FOR UPDATE SKIP LOCKED`` + lease rule as
:mod:`auditor.store.claims`, so the workers of one location share its runs and every
location runs each due time once. A location's worker adopts its rows: it makes the rows
of checks that name its location, drops those of checks that no longer do, and takes over
a newer ``check_def.next_run_at`` (a "run now" or a changed schedule) as an earlier due time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from auditor.store.claims import (
    CHECK_TABLE,
    CLAIM_COLUMNS,
    RUNNABLE,
    SERVICE_TABLE,
    Claim,
    claim_from_row,
    lease_terms,
)
from auditor.store.db import Database
from auditor.store.location_models import CheckLocation
from auditor.store.models import Check

LOCATION_TABLE: sa.Table = CheckLocation.__table__  # type: ignore[attr-defined]


def adopt_location(db: Database, location: str, now: datetime) -> int:
    """Make ``location``'s rows match the checks that name it; the number of rows made."""
    made = 0
    with db.write(background=True) as s:
        checks = s.exec(
            select(Check.id, Check.service_id, Check.locations, Check.next_run_at).where(
                col(Check.quorum).is_not(None), col(Check.deleted_at).is_(None)
            )
        ).all()
        rows = {
            r.check_id: r
            for r in s.exec(select(CheckLocation).where(CheckLocation.location == location))
        }
        for check_id, service_id, locations, next_run_at in checks:
            row = rows.pop(check_id, None)
            if location not in (locations or []):
                if row is not None:
                    s.delete(row)
                continue
            if row is None:
                s.add(
                    CheckLocation(
                        check_id=check_id,
                        location=location,
                        service_id=service_id,
                        next_run_at=next_run_at or now,
                        seen_request_at=next_run_at,
                    )
                )
                made += 1
            elif next_run_at is not None and next_run_at != row.seen_request_at:
                if row.next_run_at is None or next_run_at < row.next_run_at:
                    row.next_run_at = next_run_at
                row.seen_request_at = next_run_at
                s.add(row)
        for row in rows.values():  # checks deleted or no longer located
            s.delete(row)
    return made


def claim_located(
    db: Database,
    worker: str,
    location: str,
    now: datetime,
    limit: int,
    lease_s: float,
    *,
    horizon_s: float = 0.0,
) -> list[Claim]:
    """Lease up to ``limit`` runs of ``location`` due by ``now + horizon_s`` (see claim_due)."""
    if limit <= 0:
        return []
    due_by = now + timedelta(seconds=max(horizon_s, 0.0))
    loc = LOCATION_TABLE
    with db.write(background=True) as s:
        conn = s.connection()
        stmt = (
            sa.select(*CLAIM_COLUMNS, loc.c.next_run_at, loc.c.lease_until)
            .join_from(loc, CHECK_TABLE, CHECK_TABLE.c.id == loc.c.check_id)
            .join(SERVICE_TABLE, SERVICE_TABLE.c.id == CHECK_TABLE.c.service_id)
            .where(
                loc.c.location == location,
                *RUNNABLE,
                CHECK_TABLE.c.quorum.is_not(None),
                loc.c.next_run_at <= due_by,
                sa.or_(loc.c.lease_until.is_(None), loc.c.lease_until < due_by),
            )
            .order_by(loc.c.next_run_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=loc)
        )
        claims = []
        for row in conn.execute(stmt):
            not_before, lease_until = lease_terms(
                now, row.next_run_at, row.lease_until, row.timeout_s, lease_s
            )
            claim = replace(
                claim_from_row(row, row.next_run_at, lease_until),
                location=location,
                not_before=not_before,
            )
            claims.append(claim)
        if claims:
            conn.execute(
                sa.update(loc)
                .where(loc.c.check_id == sa.bindparam("b_id"), loc.c.location == location)
                .values(lease_owner=worker, lease_until=sa.bindparam("b_until")),
                [{"b_id": c.check_id, "b_until": c.lease_until} for c in claims],
            )
        claims.sort(key=lambda c: c.start_at)
        return claims
