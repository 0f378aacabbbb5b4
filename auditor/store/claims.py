"""Claims: due checks leased to one worker, so several workers share checks without a coordinator.

Workers claim with ``SELECT … FOR UPDATE SKIP LOCKED`` plus a lease (the same code on
SQLite, where the immediate write transaction gives the exclusivity). They claim a little
ahead (``horizon_s``) and start each check at its due time: a check due within the horizon,
or whose lease (a dead worker's) lapses within it, can be claimed now; the claim says when
it may start (``start_at``) and its lease covers that wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from auditor.probe.outcome import Target
from auditor.store.db import Database
from auditor.store.location_models import CheckLocation
from auditor.store.models import Check, Service, utcnow


@dataclass(frozen=True)
class Claim:
    """A due check leased to one worker: everything needed to run it without another query."""

    check_id: str
    service_id: str
    due_at: datetime
    kind: str
    name: str
    options: dict[str, Any]
    timeout_s: float
    interval_s: float
    schedule: str | None
    jitter_s: float
    target: Target
    lease_until: datetime
    secret_error: str | None = None
    #: where the definition comes from: "config" (the file) or "api" (API or dashboard)
    source: str = "config"
    #: not before this instant: the previous holder's lease ends then (None: at ``due_at``)
    not_before: datetime | None = None
    #: the probe location this run is for ("" for a check without locations)
    location: str = ""

    @property
    def start_at(self) -> datetime:
        """When the run may start: its due time, or when the previous lease lapses."""
        if self.not_before is not None and self.not_before > self.due_at:
            return self.not_before
        return self.due_at


def claim_due(
    db: Database,
    worker: str,
    now: datetime,
    limit: int,
    lease_s: float,
    *,
    horizon_s: float = 0.0,
) -> list[Claim]:
    """Lease up to ``limit`` checks due by ``now + horizon_s`` to ``worker``.

    A check whose lease (held by a worker that died or stalled) lapses by then is
    claimable too; its claim's ``not_before`` is that instant, so the run never overlaps
    the previous lease. Every lease lasts from ``now`` past the planned start by at least
    the check's timeout + 10 s, and at least ``lease_s``. One locking select and one
    set-based update, in Core: every run a worker makes is claimed through here.
    """
    if limit <= 0:
        return []
    due_by = now + timedelta(seconds=max(horizon_s, 0.0))
    with db.write(background=True) as s:
        conn = s.connection()
        stmt = (
            sa.select(*CLAIM_COLUMNS, CHECK_TABLE.c.next_run_at, CHECK_TABLE.c.lease_until)
            .join_from(CHECK_TABLE, SERVICE_TABLE, SERVICE_TABLE.c.id == CHECK_TABLE.c.service_id)
            .where(
                *RUNNABLE,
                CHECK_TABLE.c.quorum.is_(None),  # located checks: auditor.store.location_claims
                CHECK_TABLE.c.next_run_at <= due_by,
                sa.or_(CHECK_TABLE.c.lease_until.is_(None), CHECK_TABLE.c.lease_until < due_by),
            )
            .order_by(CHECK_TABLE.c.next_run_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=CHECK_TABLE)
        )
        claims = []
        for row in conn.execute(stmt):
            not_before, lease_until = lease_terms(
                now, row.next_run_at, row.lease_until, row.timeout_s, lease_s
            )
            claim = claim_from_row(row, row.next_run_at, lease_until)
            if not_before is not None:
                claim = replace(claim, not_before=not_before)
            claims.append(claim)
        if claims:
            conn.execute(
                sa.update(CHECK_TABLE)
                .where(CHECK_TABLE.c.id == sa.bindparam("b_id"))
                .values(lease_owner=worker, lease_until=sa.bindparam("b_until")),
                [{"b_id": c.check_id, "b_until": c.lease_until} for c in claims],
            )
        claims.sort(key=lambda c: c.start_at)
        return claims


def claims_for(
    db: Database,
    *,
    services: Sequence[str] = (),
    kinds: Sequence[str] = (),
    check_ids: Sequence[str] = (),
    now: datetime | None = None,
) -> list[Claim]:
    """Enabled checks selected by service name / kind, as claims due now (for ``audit``)."""
    now = now or utcnow()
    with db.read() as s:
        stmt = (
            sa.select(*CLAIM_COLUMNS)
            .join_from(CHECK_TABLE, SERVICE_TABLE, SERVICE_TABLE.c.id == CHECK_TABLE.c.service_id)
            .where(*RUNNABLE)
            .order_by(SERVICE_TABLE.c.name, CHECK_TABLE.c.name)
        )
        if services:
            stmt = stmt.where(SERVICE_TABLE.c.name.in_(list(services)))
        if kinds:
            stmt = stmt.where(CHECK_TABLE.c.kind.in_(list(kinds)))
        if check_ids:
            stmt = stmt.where(CHECK_TABLE.c.id.in_(list(check_ids)))
        return [claim_from_row(row, now, now) for row in s.connection().execute(stmt)]


def release(db: Database, claims: Sequence[Claim], worker: str) -> None:
    """Give back leases without running (shutdown before start)."""
    if not claims:
        return
    with db.write(background=True) as s:
        for claim in claims:  # a located check's lease is its location's row
            if claim.location:
                s.execute(
                    sa.update(CheckLocation)
                    .where(
                        col(CheckLocation.check_id) == claim.check_id,
                        col(CheckLocation.location) == claim.location,
                        col(CheckLocation.lease_owner) == worker,
                    )
                    .values(lease_owner=None, lease_until=None)
                )
        claims = [c for c in claims if not c.location]
        s.execute(
            sa.update(Check)
            .where(
                col(Check.id).in_([c.check_id for c in claims]),
                col(Check.lease_owner) == worker,
            )
            .values(lease_owner=None, lease_until=None)
        )


def lease_terms(
    now: datetime, due_at: datetime, held_until: datetime | None, timeout_s: float, lease_s: float
) -> tuple[datetime | None, datetime]:
    """(not_before, lease_until) of a new claim: it never starts inside a lapsing earlier
    lease, and its lease lasts past the planned start by the timeout + 10 s, at least
    ``lease_s``. One rule for plain and per-location claims."""
    not_before = held_until if held_until is not None and held_until > now else None
    start = max(now, due_at, not_before or now)
    ahead = (start - now).total_seconds()
    return not_before, now + timedelta(seconds=max(lease_s, ahead + timeout_s + 10.0))


CHECK_TABLE: sa.Table = Check.__table__  # type: ignore[attr-defined]
SERVICE_TABLE: sa.Table = Service.__table__  # type: ignore[attr-defined]
#: a check that runs: it and its service enabled and not deleted (every claim path's filter)
RUNNABLE = (
    CHECK_TABLE.c.enabled.is_(True),
    CHECK_TABLE.c.deleted_at.is_(None),
    SERVICE_TABLE.c.enabled.is_(True),
    SERVICE_TABLE.c.deleted_at.is_(None),
)
#: what a claim holds of a check and its service (``claim_from_row`` reads these labels)
CLAIM_COLUMNS = (
    CHECK_TABLE.c.id.label("check_id"),
    CHECK_TABLE.c.kind,
    CHECK_TABLE.c.name.label("check_name"),
    CHECK_TABLE.c.options,
    CHECK_TABLE.c.secret_options,
    CHECK_TABLE.c.timeout_s,
    CHECK_TABLE.c.interval_s,
    CHECK_TABLE.c.schedule,
    CHECK_TABLE.c.jitter_s,
    CHECK_TABLE.c.source,
    SERVICE_TABLE.c.id.label("service_id"),
    SERVICE_TABLE.c.name.label("service_name"),
    SERVICE_TABLE.c.url,
    SERVICE_TABLE.c.secret_url,
    SERVICE_TABLE.c.environment,
    SERVICE_TABLE.c.tags,
    SERVICE_TABLE.c.owner,
    SERVICE_TABLE.c.public,
)


def claim_from_row(row: Any, due_at: datetime, lease_until: datetime) -> Claim:
    """A claim from a row selected with :data:`CLAIM_COLUMNS`; its secrets decrypted."""
    options, secret_error = dict(row.options or {}), None
    if row.secret_options:
        from auditor.store.secrets import reveal_options

        try:
            options = reveal_options(options, row.secret_options)
        except Exception as exc:  # a missing or rotated-away key must not stop other checks
            secret_error = f"cannot decrypt this check's secret options ({type(exc).__name__}); is AUDITOR_SECRET_KEY set to the key they were stored with?"
    url = row.url
    if row.secret_url:
        from auditor.store.service_url import url_with_secret

        try:
            url = url_with_secret(row.url, row.secret_url)
        except Exception as exc:  # same as above: this check errors, the others run
            secret_error = f"cannot decrypt this service's URL ({type(exc).__name__}); is AUDITOR_SECRET_KEY set to the key it was stored with?"
    return Claim(
        secret_error=secret_error,
        source=row.source,
        check_id=row.check_id,
        service_id=row.service_id,
        due_at=due_at,
        kind=row.kind,
        name=row.check_name,
        options=options,
        timeout_s=row.timeout_s,
        interval_s=row.interval_s,
        schedule=row.schedule,
        jitter_s=row.jitter_s,
        target=Target(
            service=row.service_name,
            url=url,
            check=row.check_name,
            kind=row.kind,
            environment=row.environment,
            tags=tuple(row.tags or ()),
            owner=row.owner,
            public=row.public,
            service_id=row.service_id,
            check_id=row.check_id,
        ),
        lease_until=lease_until,
    )
