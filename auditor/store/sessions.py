"""Dashboard sessions: the cookie's SHA-256 is the row id; revoking a row ends the session."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from auditor.store.db import Database
from auditor.store.models import User, WebSession


def end_sessions(s: Session, user_id: str, now: datetime, *, keep: str | None = None) -> int:
    """Revoke every live dashboard session of ``user_id`` (except ``keep``) in transaction ``s``.

    Password, role and account changes call this in the same transaction as the change, so
    no old session outlives it.
    """
    n = 0
    live = s.exec(
        select(WebSession).where(
            WebSession.user_id == user_id, col(WebSession.revoked_at).is_(None)
        )
    ).all()
    for row in live:
        if row.id != keep:
            row.revoked_at = now
            s.add(row)
            n += 1
    return n


def revoke_sessions(db: Database, user_id: str, now: datetime, *, keep: str | None = None) -> int:
    """:func:`end_sessions` in a transaction of its own; returns how many ended."""
    with db.write() as s:
        return end_sessions(s, user_id, now, keep=keep)


def open_session(db: Database, row: WebSession) -> WebSession:
    with db.write() as s:
        s.add(row)
    return row


def close_session(db: Database, session_id: str, now: datetime) -> None:
    """Revoke one session (signing out); an unknown or ended one is left as it is."""
    with db.write() as s:
        row = s.get(WebSession, session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
            s.add(row)


def session_with_user(db: Database, session_id: str) -> tuple[WebSession, User | None] | None:
    """The session row and its user (None when the user row is gone), or None."""
    with db.read() as s:
        row = s.get(WebSession, session_id)
        if row is None:
            return None
        return row, s.get(User, row.user_id)
