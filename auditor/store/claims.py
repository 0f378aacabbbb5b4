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
from sqlmodel import col, select

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
    the check's timeout + 10 s, and at least ``lease_s``.
    """
    if limit <= 0:
        return []
    due_by = now + timedelta(seconds=max(horizon_s, 0.0))
    with db.write(background=True) as s:
        stmt = (
            select(Check.id)
            .join(Service, col(Service.id) == col(Check.service_id))
            .where(
                col(Check.enabled).is_(True),
                col(Check.deleted_at).is_(None),
                col(Service.enabled).is_(True),
                col(Service.deleted_at).is_(None),
                col(Check.quorum).is_(None),  # located checks: auditor.store.location_claims
                col(Check.next_run_at) <= due_by,
                sa.or_(col(Check.lease_until).is_(None), col(Check.lease_until) < due_by),
            )
            .order_by(col(Check.next_run_at))
            .limit(limit)
            .with_for_update(skip_locked=True, of=Check)  # type: ignore[arg-type]
        )
        ids = list(s.exec(stmt).all())
        if not ids:
            return []
        rows = s.exec(
            select(Check, Service)
            .join(Service, col(Service.id) == col(Check.service_id))
            .where(col(Check.id).in_(ids))
        ).all()
        claims = []
        for chk, svc in rows:
            assert chk.next_run_at is not None
            not_before, lease_until = lease_terms(
                now, chk.next_run_at, chk.lease_until, chk.timeout_s, lease_s
            )
            chk.lease_owner = worker
            chk.lease_until = lease_until
            s.add(chk)
            claim = _claim(chk, svc, chk.next_run_at, lease_until)
            if not_before is not None:
                claim = replace(claim, not_before=not_before)
            claims.append(claim)
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
            select(Check, Service)
            .join(Service, col(Service.id) == col(Check.service_id))
            .where(
                col(Check.enabled).is_(True),
                col(Check.deleted_at).is_(None),
                col(Service.deleted_at).is_(None),
                col(Service.enabled).is_(True),
            )
            .order_by(col(Service.name), col(Check.name))
        )
        if services:
            stmt = stmt.where(col(Service.name).in_(list(services)))
        if kinds:
            stmt = stmt.where(col(Check.kind).in_(list(kinds)))
        if check_ids:
            stmt = stmt.where(col(Check.id).in_(list(check_ids)))
        return [_claim(c, svc, now, now) for c, svc in s.exec(stmt).all()]


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


def _claim(chk: Check, svc: Service, due_at: datetime, lease_until: datetime) -> Claim:
    options, secret_error = dict(chk.options), None
    if chk.secret_options:
        from auditor.store.secrets import reveal_options

        try:
            options = reveal_options(chk.options, chk.secret_options)
        except Exception as exc:  # a missing or rotated-away key must not stop other checks
            secret_error = f"cannot decrypt this check's secret options ({type(exc).__name__}); is AUDITOR_SECRET_KEY set to the key they were stored with?"
    url = svc.url
    if svc.secret_url:
        from auditor.store.service_url import full_url

        try:
            url = full_url(svc)
        except Exception as exc:  # same as above: this check errors, the others run
            secret_error = f"cannot decrypt this service's URL ({type(exc).__name__}); is AUDITOR_SECRET_KEY set to the key it was stored with?"
    return Claim(
        secret_error=secret_error,
        source=chk.source,
        check_id=chk.id,
        service_id=svc.id,
        due_at=due_at,
        kind=chk.kind,
        name=chk.name,
        options=options,
        timeout_s=chk.timeout_s,
        interval_s=chk.interval_s,
        schedule=chk.schedule,
        jitter_s=chk.jitter_s,
        target=Target(
            service=svc.name,
            url=url,
            check=chk.name,
            kind=chk.kind,
            environment=svc.environment,
            tags=tuple(svc.tags),
            owner=svc.owner,
            public=svc.public,
            service_id=svc.id,
            check_id=chk.id,
        ),
        lease_until=lease_until,
    )
