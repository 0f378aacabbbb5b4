"""TOTP replay protection: each RFC 6238 time-step is accepted at most once per user."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col

from auditor.store.db import Database
from auditor.store.models import User


def accept_totp_counter(db: Database, user_id: str, counter: int) -> bool:
    """Record ``counter`` as the user's last accepted time-step; False when that step (or a
    later one) was already used, so the code is a replay.

    One conditional UPDATE, so two requests racing with the same code cannot both win, on
    SQLite and PostgreSQL alike.
    """
    stmt = (
        sa.update(User)
        .where(
            col(User.id) == user_id,
            col(User.deleted_at).is_(None),
            sa.or_(col(User.totp_last_counter).is_(None), col(User.totp_last_counter) < counter),
        )
        .values(totp_last_counter=counter)
    )
    with db.write() as s:
        result = s.execute(stmt)
        return bool(getattr(result, "rowcount", 0) == 1)
