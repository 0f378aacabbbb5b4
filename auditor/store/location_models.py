"""The ``check_location`` table: one row per (check, probe location) of a located check.

A check with ``locations`` (PostgreSQL only) is run by every named location on its own
schedule: the row carries that location's due time and lease (what ``check_def`` carries
for a check without locations) and its own debounced state, from which the check's
combined state (``check_state``) is derived by quorum. Kept apart from
:mod:`auditor.store.models` to keep each module short; the store's package imports it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from auditor.store.models import UTCDateTime, utcnow


def _ts() -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


class CheckLocation(SQLModel, table=True):
    __tablename__ = "check_location"
    __table_args__ = (sa.Index("ix_check_location_due", "location", "next_run_at"),)

    check_id: str = Field(primary_key=True, max_length=36)
    location: str = Field(primary_key=True, max_length=63)
    service_id: str = Field(max_length=36, index=True)
    next_run_at: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = _ts()
    #: the check's ``next_run_at`` last taken over (a "run now" or a changed schedule)
    seen_request_at: datetime | None = _ts()
    state: str = Field(default="unknown", max_length=8)
    since: datetime | None = _ts()
    consecutive_fail: int = 0
    consecutive_pass: int = 0
    consecutive_warn: int = 0
    consecutive_error: int = 0
    raw_status: str | None = Field(default=None, max_length=8)
    last_run_id: str | None = Field(default=None, max_length=36)
    last_run_at: datetime | None = _ts()
    last_duration_ms: float | None = None
    last_summary: str = ""
    last_findings: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
