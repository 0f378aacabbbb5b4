"""What people add beside the checks: waivers, attestations and backup heartbeats."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlmodel import col, select

from auditor.store.db import Database
from auditor.store.errors import NotFound
from auditor.store.models import Attestation, Check, HeartbeatPing, Waiver
from auditor.store.service_admin import load_service

Signed = TypeVar("Signed", Waiver, Attestation)


def add_waiver(db: Database, row: Waiver) -> Waiver:
    """Store a waiver of a live check, else :class:`NotFound` ("check")."""
    with db.write() as s:
        chk = s.get(Check, row.check_id)
        if chk is None or chk.deleted_at is not None:
            raise NotFound("check")
        s.add(row)
    return row


def add_attestation(db: Database, row: Attestation) -> Attestation:
    """Store a sign-off for a live service, else :class:`NotFound` ("service")."""
    with db.write() as s:
        load_service(s, row.service_id)
        s.add(row)
    return row


def get_live(db: Database, model: type[Signed], row_id: str, what: str) -> Signed:
    """A waiver or attestation not withdrawn, else :class:`NotFound` (``what``)."""
    with db.read() as s:
        row = s.get(model, row_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(what)
    return row


def withdraw(db: Database, model: type[Signed], row_id: str, what: str, now: datetime) -> Signed:
    """Soft-delete a waiver or attestation not withdrawn yet, else :class:`NotFound`."""
    with db.write() as s:
        row = s.get(model, row_id)
        if row is None or row.deleted_at is not None:
            raise NotFound(what)
        row.deleted_at = now
        row.updated_at = now
        s.add(row)
    return row


def withdraw_check_waivers(db: Database, check_id: str, now: datetime) -> int:
    """Withdraw every live waiver of a check; returns how many."""
    with db.write() as s:
        rows = s.exec(
            select(Waiver).where(col(Waiver.check_id) == check_id, col(Waiver.deleted_at).is_(None))
        ).all()
        for w in rows:
            w.deleted_at = now
            w.updated_at = now
            s.add(w)
    return len(rows)


def record_ping(
    db: Database,
    token: str,
    kind: str,
    exit_code: int | None,
    remote_addr: str | None,
    now: datetime,
) -> HeartbeatPing:
    """Store a heartbeat of the live check holding ``token``, else :class:`NotFound`."""
    with db.write() as s:
        chk = s.exec(
            select(Check).where(
                col(Check.heartbeat_token) == token, col(Check.deleted_at).is_(None)
            )
        ).first()
        if chk is None:
            raise NotFound("heartbeat token")
        ping = HeartbeatPing(
            check_id=chk.id, kind=kind, exit_code=exit_code, at=now, remote_addr=remote_addr
        )
        s.add(ping)
    return ping
