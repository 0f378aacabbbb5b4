"""API tokens and users: opaque random tokens stored as SHA-256, passwords with Argon2id."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from auditor.store.db import Database
from auditor.store.lastuse import last_use
from auditor.store.models import ApiToken, User, WebSession, utcnow

ROLES = ("viewer", "operator", "admin")
ROLE_RANK = {role: i for i, role in enumerate(ROLES)}
TOKEN_PREFIX = "aud_"
_hasher = PasswordHasher()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def role_at_least(role: str, needed: str) -> bool:
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def create_token(
    store: Database,
    *,
    name: str,
    role: str,
    expires_at: datetime | None = None,
    created_by: str = "cli",
) -> tuple[ApiToken, str]:
    """Create a token; the plaintext is returned once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        role=role,
        token_hash=hash_token(plaintext),
        prefix=plaintext[:8],
        expires_at=expires_at,
        created_by=created_by,
    )
    with store.write() as s:
        s.add(row)
    return row, plaintext


def verify_token(store: Database, plaintext: str, now: datetime | None = None) -> ApiToken | None:
    """The live token for ``plaintext`` (not revoked, not expired), noting its last use.

    The lookup is a read. ``last_used_at`` (kept to the minute) is written in the background
    (``auditor.store.lastuse``), never in the request: never for an unknown token.
    """
    now = now or utcnow()
    with store.read() as s:
        row = s.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        last_use(store).note("api_token", row.id, now)
        row.last_used_at = now
    return row


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(store: Database, *, username: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 12:
        raise ValueError("password must be at least 12 characters")
    with store.write() as s:
        if s.exec(select(User).where(col(User.username) == username)).first() is not None:
            raise ValueError(f"user {username!r} already exists")
        user = User(
            username=username,
            role=role,
            password_hash=hash_password(password),
            password_changed_at=utcnow(),
        )
        s.add(user)
    return user


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
