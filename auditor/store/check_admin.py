"""Checks as the API and the dashboard's forms edit them: create, change, soft-delete, read.

Same shape as :mod:`auditor.store.service_admin`: one transaction per write, the caller's
rules as callbacks inside it, :class:`NotFound` / :class:`NameTaken` for the caller to word.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from auditor.store.db import Database
from auditor.store.errors import NotFound
from auditor.store.models import Check, CheckState, Run, Service
from auditor.store.service_admin import Taken, load_service, retire, unique_names


@dataclass(frozen=True)
class CheckRecord:
    """A check with its service and its latest stored state (None before the first run)."""

    service: Service
    check: Check
    state: CheckState | None


def _load_check(s: Session, service_id: str, check_id: str) -> tuple[Service, Check]:
    svc = load_service(s, service_id)
    chk = s.get(Check, check_id)
    if chk is None or chk.service_id != service_id or chk.deleted_at is not None:
        raise NotFound("check")
    return svc, chk


def _name_taken(s: Session, service_id: str, name: str, exclude: str | None = None) -> bool:
    stmt = select(Check.id).where(col(Check.service_id) == service_id, col(Check.name) == name)
    if exclude:
        stmt = stmt.where(col(Check.id) != exclude)
    return s.exec(stmt).first() is not None


def get_check(db: Database, service_id: str, check_id: str) -> CheckRecord:
    """The live check of a live service, else :class:`NotFound` naming which is missing."""
    with db.read() as s:
        svc, chk = _load_check(s, service_id, check_id)
        return CheckRecord(svc, chk, s.get(CheckState, chk.id))


def find_check(db: Database, check_id: str) -> tuple[Check, Service] | None:
    """A live check by id alone, with its service (for pages addressed by check id)."""
    with db.read() as s:
        chk = s.get(Check, check_id)
        svc = s.get(Service, chk.service_id) if chk else None
    if chk is None or svc is None or chk.deleted_at is not None:
        return None
    return chk, svc


def check_exists(db: Database, check_id: str, *, include_deleted: bool = True) -> bool:
    with db.read() as s:
        chk = s.get(Check, check_id)
    return chk is not None and (include_deleted or chk.deleted_at is None)


def check_named(db: Database, service_id: str, name: str) -> Check | None:
    """The service's check with this name, deleted ones included."""
    with db.read() as s:
        stmt = select(Check).where(col(Check.service_id) == service_id, col(Check.name) == name)
        return s.exec(stmt).first()


def states_of(db: Database, check_ids: Iterable[str]) -> dict[str, CheckState]:
    ids = list(check_ids)
    if not ids:
        return {}
    with db.read() as s:
        rows = s.exec(select(CheckState).where(col(CheckState.check_id).in_(ids))).all()
    return {st.check_id: st for st in rows}


def checks_of_kind(db: Database, service_id: str, kind: str) -> list[Check]:
    """The live checks of one kind of a service."""
    with db.read() as s:
        stmt = select(Check).where(
            col(Check.service_id) == service_id,
            col(Check.kind) == kind,
            col(Check.deleted_at).is_(None),
        )
        return list(s.exec(stmt).all())


def add_check(
    db: Database, service_id: str, make: Callable[[Service, Taken], Check], now: datetime
) -> tuple[Check, CheckState]:
    """Store the check ``make`` builds for the live service, with its empty state."""
    with unique_names(db) as s:
        svc = load_service(s, service_id)
        chk = make(svc, lambda name: _name_taken(s, svc.id, name))
        s.add(chk)
        s.flush()
        state = CheckState(check_id=chk.id, service_id=svc.id, updated_at=now)
        s.add(state)
    return chk, state


def change_check(
    db: Database, service_id: str, check_id: str, change: Callable[[Check, Taken], None]
) -> CheckRecord:
    """Let ``change`` edit the live check (it keeps ``updated_at`` itself)."""
    with unique_names(db) as s:
        svc, chk = _load_check(s, service_id, check_id)
        change(chk, lambda name: _name_taken(s, service_id, name, chk.id))
        s.add(chk)
        return CheckRecord(svc, chk, s.get(CheckState, chk.id))


def retire_check(
    db: Database, service_id: str, check_id: str, guard: Callable[[Check], None], now: datetime
) -> CheckRecord:
    """Soft-delete a check (its runs are kept)."""
    with db.write() as s:
        svc, chk = _load_check(s, service_id, check_id)
        guard(chk)
        retire(chk, now)
        s.add(chk)
        return CheckRecord(svc, chk, s.get(CheckState, chk.id))


def get_run(db: Database, run_id: str) -> Run | None:
    with db.read() as s:
        return s.get(Run, run_id)
