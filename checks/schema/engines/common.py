"""What every engine reader shares: its settings and value normalisers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: characters of a statement kept in facts and messages
QUERY_CHARS = 160


@dataclass(frozen=True)
class ReadSettings:
    """``schemas``: PostgreSQL schemas to read (empty: the connection's current schema)."""

    schemas: tuple[str, ...] = ()
    slow_query_ms: float = 500.0
    slow_query_limit: int = 5
    max_tables: int = 1000


def iso(value: Any) -> str | None:
    """A driver timestamp as ISO 8601 with a zone (naive values are UTC)."""
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def short_query(text: str) -> str:
    """One line, at most QUERY_CHARS characters."""
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= QUERY_CHARS else flat[: QUERY_CHARS - 1] + "…"


def as_str(value: Any) -> str:
    """Catalog text as drivers return it (MySQL may hand back bytes)."""
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)
