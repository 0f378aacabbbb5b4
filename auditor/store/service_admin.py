"""Services as the API and the dashboard's forms edit them: create, change, soft-delete.

Each write is one transaction. The caller's own rules (validation, "managed by the config
file") run inside it as callbacks, so a check and the write it guards see the same row;
a callback aborts the write by raising. Name clashes surface as :class:`NameTaken`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from auditor.store.db import Database
from auditor.store.errors import NameTaken, NotFound
from auditor.store.models import Check, CheckState, Service, utcnow
from auditor.store.secret_moves import drop_moved

# asks whether another row (deleted ones included) already uses this name
Taken = Callable[[str], bool]


@contextmanager
def unique_names(db: Database) -> Iterator[Session]:
    """A write transaction whose unique-index violation is :class:`NameTaken`."""
    try:
        with db.write() as s:
            yield s
    except sa.exc.IntegrityError as exc:
        raise NameTaken from exc


def load_service(s: Session, service_id: str, *, include_deleted: bool = False) -> Service:
    svc = s.get(Service, service_id)
    if svc is None or (svc.deleted_at is not None and not include_deleted):
        raise NotFound("service")
    return svc


def service_name_taken(s: Session, name: str, exclude_id: str | None = None) -> bool:
    stmt = select(Service.id).where(col(Service.name) == name)
    if exclude_id:
        stmt = stmt.where(col(Service.id) != exclude_id)
    return s.exec(stmt).first() is not None


def get_service(db: Database, service_id: str) -> Service:
    """The live service with this id, else :class:`NotFound`."""
    with db.read() as s:
        return load_service(s, service_id)


def service_named(db: Database, name: str, *, include_deleted: bool = False) -> Service | None:
    stmt = select(Service).where(col(Service.name) == name)
    if not include_deleted:
        stmt = stmt.where(col(Service.deleted_at).is_(None))
    with db.read() as s:
        return s.exec(stmt).first()


def live_services(db: Database) -> list[Service]:
    """Every service not deleted, by name."""
    with db.read() as s:
        stmt = select(Service).where(col(Service.deleted_at).is_(None))
        return list(s.exec(stmt.order_by(col(Service.name))).all())


def live_check_counts(db: Database) -> dict[str, int]:
    """How many live checks each service has (by service id)."""
    counts: dict[str, int] = {}
    with db.read() as s:
        for sid in s.exec(select(Check.service_id).where(col(Check.deleted_at).is_(None))).all():
            counts[sid] = counts.get(sid, 0) + 1
    return counts


def add_service(
    db: Database, svc: Service, checks: Sequence[tuple[Check, CheckState]] = ()
) -> Service:
    """Store a new service and its first checks with their empty states."""
    with unique_names(db) as s:
        if service_name_taken(s, svc.name):
            raise NameTaken
        s.add(svc)
        s.flush()
        for chk, state in checks:
            s.add(chk)
            s.flush()
            state.check_id = chk.id
            s.add(state)
    return svc


def change_service(
    db: Database,
    service_id: str,
    change: Callable[[Service, Taken], None],
    *,
    now: datetime | None = None,
    cascade_enabled: bool = False,
    dropped: list[str] | None = None,
) -> Service:
    """Let ``change`` edit the live service; ``cascade_enabled`` carries a changed
    ``enabled`` to every check of the service (one that is enabled again runs at once).

    When the URL moves to another host, the checks' host-bound secrets are dropped in the
    same transaction (:mod:`auditor.store.secret_moves`); ``dropped`` collects their paths.
    """
    now = now or utcnow()
    with unique_names(db) as s:
        svc = load_service(s, service_id)
        was_enabled, old_url = svc.enabled, svc.url
        change(svc, lambda name: service_name_taken(s, name, svc.id))
        if svc.url != old_url:
            live = select(Check).where(
                col(Check.service_id) == svc.id, col(Check.deleted_at).is_(None)
            )
            for chk in s.exec(live).all():
                lost = drop_moved(chk, old_url, svc.url)
                if lost:
                    chk.updated_at = now
                    s.add(chk)
                    if dropped is not None:
                        dropped.extend(f"checks.{chk.name}.{path}" for path in lost)
        if cascade_enabled and svc.enabled != was_enabled:
            for chk in s.exec(select(Check).where(col(Check.service_id) == svc.id)).all():
                chk.enabled = svc.enabled
                chk.next_run_at = now if svc.enabled else chk.next_run_at
                chk.updated_at = now
                s.add(chk)
        svc.updated_at = now
        s.add(svc)
    return svc


def retire_service(
    db: Database, service_id: str, guard: Callable[[Service], None], now: datetime
) -> Service:
    """Soft-delete a service and its checks (history is kept, the checks stop)."""
    with db.write() as s:
        svc = load_service(s, service_id)
        guard(svc)
        svc.deleted_at = now
        svc.enabled = False
        svc.updated_at = now
        s.add(svc)
        for chk in s.exec(select(Check).where(col(Check.service_id) == svc.id)).all():
            if chk.deleted_at is None:
                retire(chk, now)
                s.add(chk)
    return svc


def retire(chk: Check, now: datetime) -> None:
    chk.deleted_at = now
    chk.enabled = False
    chk.updated_at = now


def checks_with_states(db: Database, service_id: str) -> list[tuple[Check, CheckState | None]]:
    """The live checks of a service, each with its stored state if it has one."""
    with db.read() as s:
        rows = s.exec(
            select(Check, CheckState)
            .join(CheckState, col(CheckState.check_id) == col(Check.id), isouter=True)
            .where(col(Check.service_id) == service_id, col(Check.deleted_at).is_(None))
        ).all()
    return [(chk, st) for chk, st in rows]
