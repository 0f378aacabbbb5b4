"""API tokens and users: opaque random tokens stored as SHA-256, passwords with Argon2id."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from auditor.store.db import Database
from auditor.store.errors import NameTaken, NotFound
from auditor.store.lastuse import last_use
from auditor.store.models import ApiToken, User, utcnow
from auditor.store.sessions import end_sessions

ROLES = ("viewer", "operator", "admin")
ROLE_RANK = {role: i for i, role in enumerate(ROLES)}
#: grants a token may carry beyond its role: ``evidence`` pushes CI/CD evidence and deploys
SCOPES = ("evidence",)
TOKEN_PREFIX = "aud_"
_hasher = PasswordHasher()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_scope(token: ApiToken, scope: str) -> bool:
    """The token was granted ``scope`` (beyond its role) when it was made."""
    return scope in (token.scopes or [])


def role_at_least(role: str, needed: str) -> bool:
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def create_token(
    store: Database,
    *,
    name: str,
    role: str,
    expires_at: datetime | None = None,
    created_by: str = "cli",
    creator_user_id: str | None = None,
    scopes: Sequence[str] = (),
) -> tuple[ApiToken, str]:
    """Create a token; the plaintext is returned once and never stored.

    ``creator_user_id`` (the dashboard user behind it, directly or through the token that
    made it) ties the token's life to that user's: deleting the user revokes it.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    unknown = [x for x in scopes if x not in SCOPES]
    if unknown:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {unknown[0]!r}")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        role=role,
        token_hash=hash_token(plaintext),
        prefix=plaintext[:8],
        expires_at=expires_at,
        created_by=created_by,
        creator_user_id=creator_user_id,
        scopes=sorted(set(scopes)),
    )
    with store.write() as s:
        s.add(row)
    return row, plaintext


def verify_token(store: Database, plaintext: str, now: datetime | None = None) -> ApiToken | None:
    """The live token for ``plaintext`` (not revoked, not expired), noting its last use.

    A token whose creating user is deleted is refused too (they are revoked together;
    this also covers rows made before that rule). The lookup is a read. ``last_used_at`` (kept to the minute) is written in the background
    (``auditor.store.lastuse``), never in the request: never for an unknown token.
    """
    now = now or utcnow()
    with store.read() as s:
        found = s.exec(
            select(ApiToken, User.id, User.deleted_at)
            .outerjoin(User, col(User.id) == col(ApiToken.creator_user_id))
            .where(ApiToken.token_hash == hash_token(plaintext))
        ).first()
    if found is None:
        return None
    row, creator_id, creator_deleted = found
    if row.revoked_at is not None:
        return None
    if row.creator_user_id is not None and (creator_id is None or creator_deleted is not None):
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


def _check_password_rules(password: str) -> None:
    if len(password) < 12:
        raise ValueError("password must be at least 12 characters")


def create_user(store: Database, *, username: str, role: str, password: str) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    _check_password_rules(password)
    user = User(
        username=username,
        role=role,
        password_hash=hash_password(password),
        password_changed_at=utcnow(),
    )
    try:
        return add_user(store, user)
    except NameTaken as exc:
        raise ValueError(f"user {username!r} already exists") from exc


def add_user(db: Database, user: User) -> User:
    """Store a user built by the caller; :class:`NameTaken` when the username is in use."""
    try:
        with db.write() as s:
            if s.exec(select(User.id).where(col(User.username) == user.username)).first():
                raise NameTaken
            s.add(user)
    except sa.exc.IntegrityError as exc:
        raise NameTaken from exc
    return user


def get_user(db: Database, user_id: str) -> User:
    """The user not deleted, else :class:`NotFound` ("user")."""
    with db.read() as s:
        user = s.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("user")
    return user


def user_named(db: Database, username: str) -> User | None:
    """The user not deleted with this username (signing in)."""
    with db.read() as s:
        stmt = select(User).where(col(User.username) == username, col(User.deleted_at).is_(None))
        return s.exec(stmt).first()


def change_user(
    db: Database,
    user_id: str,
    change: Callable[[User], None],
    now: datetime,
    *,
    end_sessions_too: bool = False,
    keep: str | None = None,
) -> User:
    """Let ``change`` edit the user not deleted (it keeps ``updated_at`` itself);
    ``end_sessions_too`` revokes their sessions (but ``keep``) in the same transaction.
    A change that deletes the user also revokes, in that transaction, every token they made
    and all their sessions."""
    with db.write() as s:
        user = s.get(User, user_id)
        if user is None or user.deleted_at is not None:
            raise NotFound("user")
        change(user)
        s.add(user)
        if end_sessions_too or user.deleted_at is not None:
            end_sessions(s, user.id, now, keep=None if user.deleted_at else keep)
        if user.deleted_at is not None:
            _revoke_tokens_of(s, user.id, now)
    return user


def reset_password(db: Database, username: str, password: str, now: datetime) -> tuple[User, int]:
    """Set a new password for the user not deleted named ``username`` and end every one of
    their dashboard sessions in the same transaction (someone who learnt the old password
    may be signed in). Returns the user and how many sessions ended; :class:`NotFound`
    ("user") for no such user, ``ValueError`` for a password the rules refuse."""
    _check_password_rules(password)
    with db.write() as s:
        stmt = select(User).where(col(User.username) == username, col(User.deleted_at).is_(None))
        user = s.exec(stmt).first()
        if user is None:
            raise NotFound("user")
        user.password_hash = hash_password(password)
        user.password_changed_at = now
        user.updated_at = now
        s.add(user)
        ended = end_sessions(s, user.id, now)
    return user, ended


def _revoke_tokens_of(s: Session, user_id: str, now: datetime) -> None:
    """Revoke every live token ``user_id`` created, in transaction ``s``."""
    s.execute(
        sa.update(ApiToken)
        .where(col(ApiToken.creator_user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now, updated_at=now)
    )


def has_users(db: Database) -> bool:
    """Whether any user (not deleted) exists: with none, the login page says how to make one."""
    with db.read() as s:
        stmt = select(User.id).where(col(User.deleted_at).is_(None)).limit(1)
        return s.exec(stmt).first() is not None


def live_users(db: Database) -> list[User]:
    """Every user not deleted, by username."""
    with db.read() as s:
        stmt = select(User).where(col(User.deleted_at).is_(None)).order_by(col(User.username))
        return list(s.exec(stmt).all())


def all_tokens(db: Database) -> list[ApiToken]:
    """Every API token, newest first (revoked and expired ones too)."""
    with db.read() as s:
        return list(s.exec(select(ApiToken).order_by(col(ApiToken.created_at).desc())).all())


def revoke_token(db: Database, token_id: str, now: datetime) -> ApiToken:
    """Revoke a token (effective at once); one revoked already keeps its time."""
    with db.write() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise NotFound("token")
        if row.revoked_at is None:
            row.revoked_at = now
            row.updated_at = now
            s.add(row)
    return row
