"""The ``evidence`` and ``deploy_event`` tables (issue #20): reports pushed from CI/CD.

Kept apart from :mod:`auditor.store.models` to keep each module short; importing the store
registers them. ``report`` holds the raw bytes as pushed (size-limited at the API), beside
the parsed ``summary`` the check judges, so a report can always be served back as it came.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from auditor.store.models import UTCDateTime, new_id, utcnow


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"
    __table_args__ = (sa.Index("ix_evidence_item", "service_id", "item", "pushed_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", max_length=36)
    item: str = Field(max_length=255)
    format: str = Field(max_length=32)
    #: the verdict of the item's rules when pushed (``pass`` | ``fail``); the check re-judges
    verdict: str = Field(max_length=16)
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    pushed_by: str = Field(max_length=255)
    token_id: str | None = Field(default=None, max_length=36)
    commit: str | None = Field(default=None, max_length=64)
    version: str | None = Field(default=None, max_length=128)
    report: bytes = Field(sa_type=sa.LargeBinary, nullable=False)
    report_size: int = 0
    report_sha256: str = Field(max_length=64)
    pushed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class DeployEvent(SQLModel, table=True):
    __tablename__ = "deploy_event"
    __table_args__ = (sa.Index("ix_deploy_event_service_at", "service_id", "at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", max_length=36)
    version: str = Field(max_length=128)
    commit: str | None = Field(default=None, max_length=64)
    pushed_by: str = Field(max_length=255)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
