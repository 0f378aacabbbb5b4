"""The ``audit_event`` table: who changed what, when and from where (issue #17 item 7).

Kept apart from :mod:`auditor.store.models` (which imports it at its end, so every table is
registered) to keep each module short. ``changes`` is ``{field: [old, new]}`` with every
secret redacted before the row is built (:mod:`auditor.store.redact`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from auditor.store.models import UTCDateTime, new_id, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_at", "at", "id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    actor_kind: str = Field(max_length=16)  # user | token | cli | config | anonymous
    actor_id: str | None = Field(default=None, max_length=36)
    actor_name: str = Field(default="", max_length=255)
    action: str = Field(max_length=64, index=True)
    target_type: str = Field(default="", max_length=32)
    target_id: str | None = Field(default=None, max_length=36, index=True)
    target_name: str = Field(default="", max_length=255)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    source_ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)
    request_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(default="success", max_length=16)
