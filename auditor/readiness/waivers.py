"""The waiver rule: a waiver needs a reason and an expiry at most :data:`MAX_WAIVER_DAYS` away."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_WAIVER_DAYS = 90


def validate_waiver(reason: str, expires_at: datetime | None, now: datetime) -> datetime:
    """Check a new waiver's fields; return its expiry. Raises ValueError with the problem."""
    if not reason or not reason.strip():
        raise ValueError("a waiver needs a reason")
    if expires_at is None:
        raise ValueError("a waiver needs an expiry (expires_at)")
    if expires_at <= now:
        raise ValueError("the expiry must be in the future")
    if expires_at > now + timedelta(days=MAX_WAIVER_DAYS):
        raise ValueError(f"a waiver may last at most {MAX_WAIVER_DAYS} days")
    return expires_at
