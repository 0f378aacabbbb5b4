"""The service page's per-location view of located checks (state and latency per location)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auditor.schedule.state import effective
from auditor.store.db import Database
from auditor.store.location_reads import location_rows


def locations_by_check(store: Database, service_id: str, now: datetime) -> dict[str, list[Any]]:
    """check id -> one dict per location: name, shown state, latency, last run, live worker."""
    out: dict[str, list[Any]] = {}
    for row in location_rows(store, service_id=service_id, now=now):
        out.setdefault(row.check_id, []).append(
            {
                "location": row.location,
                "state": effective(row.state, row.last_run_at, row.interval_s, now),
                "duration_ms": row.last_duration_ms,
                "last_run_at": row.last_run_at,
                "summary": row.last_summary,
                "live": row.live,
            }
        )
    return out
