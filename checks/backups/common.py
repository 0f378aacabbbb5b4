"""Small helpers shared by the backup modes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any


def to_datetime(value: Any) -> datetime | None:
    """A UTC-aware datetime from a datetime, epoch seconds or an ISO string (restic's
    nanosecond fractions are cut to microseconds)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def age_seconds(observed_at: str, at: str | None) -> float | None:
    if at is None:
        return None
    return (datetime.fromisoformat(observed_at) - datetime.fromisoformat(at)).total_seconds()


def human_age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1000
    return f"{size}B"
