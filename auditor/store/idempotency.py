"""Idempotency keys of the API: a placeholder row holds a key while its request runs.

The placeholder (``status_code`` :data:`IN_FLIGHT`) is inserted before the request's work,
so two requests with one key cannot both run; a success replaces it with the response,
anything else deletes it so a retry runs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from auditor.store.db import Database
from auditor.store.models import IdempotencyKey

# status_code of the placeholder row that holds an Idempotency-Key while its request runs
IN_FLIGHT = 0


@dataclass(frozen=True)
class KeyRequest:
    """Who used a key, for which request (``digest`` hashes method, path and body)."""

    key: str
    principal: str
    method: str
    path: str
    digest: str

    def placeholder(self, now: datetime | None = None) -> IdempotencyKey:
        row = IdempotencyKey(
            key=self.key,
            principal=self.principal,
            method=self.method,
            path=self.path,
            request_hash=self.digest,
            status_code=IN_FLIGHT,
            response_body="",
        )
        if now is not None:
            row.created_at = now
        return row


def claim_key(db: Database, req: KeyRequest, now: datetime, ttl_s: float) -> IdempotencyKey | None:
    """Insert the in-flight placeholder; None when this request now holds the key, else the
    row of the request that holds or held it. A placeholder of the same request older than
    ``ttl_s`` was left by a crashed process and is taken over."""
    try:
        with db.write() as s:
            stale = s.get(IdempotencyKey, (req.key, req.principal), with_for_update=True)
            if (
                stale is not None
                and stale.status_code == IN_FLIGHT
                and stale.request_hash == req.digest
                and (now - stale.created_at).total_seconds() > ttl_s
            ):
                stale.created_at = now
                s.add(stale)
                return None
            if stale is not None:
                return stale
            s.add(req.placeholder(now))
        return None
    except sa.exc.IntegrityError:
        with db.read() as s:
            held = s.get(IdempotencyKey, (req.key, req.principal))
        # released meanwhile: treat as still in flight, the client retries
        return held if held is not None else req.placeholder()


def _held(key: str, principal: str) -> list[sa.ColumnElement[bool]]:
    return [
        col(IdempotencyKey.key) == key,
        col(IdempotencyKey.principal) == principal,
        col(IdempotencyKey.status_code) == IN_FLIGHT,
    ]


def release_key(db: Database, key: str, principal: str) -> None:
    """Drop the placeholder: the request did not succeed, a retry runs again."""
    with db.write() as s:
        s.execute(sa.delete(IdempotencyKey).where(*_held(key, principal)))


def complete_key(db: Database, key: str, principal: str, status: int, body: str) -> None:
    """Keep the successful response for replays of the same key."""
    with db.write() as s:
        s.execute(
            sa.update(IdempotencyKey)
            .where(*_held(key, principal))
            .values(status_code=status, response_body=body)
        )
