"""Database tables (SQLModel). The schema itself is owned by Alembic (``auditor/migrations``).

Ids are UUID strings (the API exposes them); times are timezone-aware UTC. JSON columns
hold findings, facts and options. ``check_state`` is the latest-state table every read path
uses; ``run`` is raw history; ``transition`` is the alert outbox (unprocessed rows are
pending work, healthchecks' ``Flip`` pattern).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite stores naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(default: Any = None) -> Any:
    factory = (
        (lambda: dict(default)) if isinstance(default, dict) else (lambda: list(default or []))
    )
    return Field(default_factory=factory, sa_type=sa.JSON, nullable=False)


class Service(SQLModel, table=True):
    __tablename__ = "service"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=63, sa_column_kwargs={"unique": True}, nullable=False)
    url: str = Field(max_length=2048)  # redacted when the URL holds a credential
    secret_url: str | None = None  # Fernet token of {"url": the full URL} (API/dashboard)
    environment: str = Field(default="production", max_length=63, index=True)
    owner: str = Field(default="", max_length=255)
    tags: list[str] = _json([])
    profile: str | None = Field(default=None, max_length=32)
    public: bool = False
    description: str = ""
    source: str = Field(default="config", max_length=16)
    # discovered services: the file or endpoint that lists them (``auditor.store.sources``)
    source_ref: str | None = Field(default=None, max_length=2048)
    enabled: bool = True
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Check(SQLModel, table=True):
    __tablename__ = "check_def"
    __table_args__ = (
        sa.UniqueConstraint("service_id", "name", name="uq_check_service_name"),
        sa.Index("ix_check_due", "enabled", "next_run_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="service.id", max_length=36, index=True)
    name: str = Field(max_length=63)
    kind: str = Field(max_length=32, index=True)
    options: dict[str, Any] = _json({})
    secret_options: str | None = None  # Fernet token of a JSON object (secrets from the API)
    interval_s: float = 300.0
    schedule: str | None = Field(default=None, max_length=120)
    jitter_s: float = 0.0
    timeout_s: float = 10.0
    severity: str = Field(default="high", max_length=16)
    level: str = Field(default="bronze", max_length=16)
    failure_threshold: int = 2
    success_threshold: int = 1
    consecutive_error_limit: int = 4
    blocking: bool = False
    description: str = ""
    enabled: bool = True
    source: str = Field(default="config", max_length=16)
    config_hash: str = Field(default="", max_length=64)
    heartbeat_token: str | None = Field(
        default=None, max_length=64, sa_column_kwargs={"unique": True}
    )
    locations: list[str] = _json([])  # probe locations (PostgreSQL); [] = any one worker
    quorum: int | None = None  # failing locations that make the check fail (None: no locations)
    next_run_at: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Run(SQLModel, table=True):
    """One execution of a check: one per (check, location, due time); location "" = none."""

    __tablename__ = "run"
    __table_args__ = (
        sa.UniqueConstraint("check_id", "location", "due_at", name="uq_run_check_location_due"),
        sa.Index("ix_run_check_started", "check_id", "started_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    check_id: str = Field(max_length=36)
    service_id: str = Field(max_length=36, index=True)
    status: str = Field(max_length=8)
    summary: str = ""
    findings: list[dict[str, Any]] = _json([])
    facts: dict[str, Any] = _json({})
    duration_ms: float = 0.0
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    error: str | None = None
    error_kind: str | None = Field(default=None, max_length=32)
    worker: str | None = Field(default=None, max_length=128)
    location: str = Field(default="", max_length=63)
    created_at: datetime = _created()


class CheckState(SQLModel, table=True):
    """Latest state per check: what dashboards, metrics and the gate read."""

    __tablename__ = "check_state"

    check_id: str = Field(primary_key=True, max_length=36)
    service_id: str = Field(max_length=36, index=True)
    state: str = Field(default="unknown", max_length=8, index=True)
    raw_status: str | None = Field(default=None, max_length=8)
    since: datetime | None = _ts()
    consecutive_fail: int = 0
    consecutive_pass: int = 0
    consecutive_error: int = 0
    last_run_id: str | None = Field(default=None, max_length=36)
    last_run_at: datetime | None = _ts()
    last_duration_ms: float | None = None
    last_summary: str = ""
    last_findings: list[dict[str, Any]] = _json([])
    last_error_kind: str | None = Field(default=None, max_length=32)
    metrics: dict[str, Any] = _json({})
    runs_total: int = 0
    updated_at: datetime = _created()


class Transition(SQLModel, table=True):
    """An effective-state change; unprocessed rows are the alert outbox."""

    __tablename__ = "transition"
    __table_args__ = (
        sa.Index("ix_transition_pending", "processed_at", "created_at"),
        sa.Index("ix_transition_at", "at", "id"),  # the API list, newest first
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    check_id: str = Field(max_length=36, index=True)
    service_id: str = Field(max_length=36, index=True)
    previous_state: str = Field(max_length=8)
    state: str = Field(max_length=8)
    reason: str = Field(default="run", max_length=32)
    run_id: str | None = Field(default=None, max_length=36)
    findings: list[dict[str, Any]] = _json([])
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    processed_at: datetime | None = _ts()
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_until: datetime | None = _ts()
    created_at: datetime = _created()


class AlertDelivery(SQLModel, table=True):
    """One delivery of one transition (or reminder) to one receiver, with its attempts."""

    __tablename__ = "alert_delivery"
    __table_args__ = (
        sa.UniqueConstraint("transition_id", "receiver", "purpose", name="uq_delivery"),
        sa.Index("ix_delivery_due", "status", "next_attempt_at"),
        sa.Index("ix_delivery_created", "created_at", "id"),  # the API list, newest first
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    transition_id: str = Field(max_length=36, index=True)
    receiver: str = Field(max_length=63)
    purpose: str = Field(default="notify", max_length=16)  # notify | reminder
    status: str = Field(
        default="pending", max_length=16
    )  # pending | delivered | failed | suppressed
    attempts: int = 0
    next_attempt_at: datetime | None = _ts()
    last_status_code: int | None = None
    last_error: str | None = None
    payload: dict[str, Any] = _json({})
    delivered_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class AlertState(SQLModel, table=True):
    """Per (check, receiver): whether an alert is open and when it was last sent (reminders)."""

    __tablename__ = "alert_state"

    check_id: str = Field(primary_key=True, max_length=36)
    receiver: str = Field(primary_key=True, max_length=63)
    firing: bool = False
    last_sent_at: datetime | None = _ts()
    last_transition_id: str | None = Field(default=None, max_length=36)
    notes: dict[str, Any] = _json({})


class Waiver(SQLModel, table=True):
    __tablename__ = "waiver"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    check_id: str = Field(max_length=36, index=True)
    reason: str
    created_by: str = Field(default="", max_length=255)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class Attestation(SQLModel, table=True):
    __tablename__ = "attestation"
    __table_args__ = (sa.Index("ix_attestation_item", "service_id", "item", "signed_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    service_id: str = Field(max_length=36)
    item: str = Field(max_length=255)
    signed_by: str = Field(max_length=255)
    evidence_url: str | None = Field(default=None, max_length=2048)
    comment: str = ""
    signed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class HeartbeatPing(SQLModel, table=True):
    __tablename__ = "heartbeat_ping"
    __table_args__ = (sa.Index("ix_ping_check_at", "check_id", "at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    check_id: str = Field(max_length=36)
    kind: str = Field(max_length=16)  # start | success | fail | exit
    exit_code: int | None = None
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    remote_addr: str | None = Field(default=None, max_length=64)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=63)
    role: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    prefix: str = Field(default="", max_length=16)
    created_by: str = Field(default="", max_length=255)
    #: the dashboard user behind the token (NULL: made by the CLI); deleting them revokes it
    creator_user_id: str | None = Field(default=None, max_length=36, index=True)
    scopes: list[str] = _json([])  # grants beyond the role ("evidence": push CI/CD reports)
    expires_at: datetime | None = _ts()
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    username: str = Field(max_length=63, sa_column_kwargs={"unique": True})
    password_hash: str
    role: str = Field(max_length=16)
    totp_secret: str | None = None  # Fernet-encrypted
    recovery_codes: list[str] = _json([])  # hashes
    #: RFC 6238 time-step of the last accepted code; that step and older ones are refused
    totp_last_counter: int | None = Field(default=None, sa_type=sa.BigInteger)
    password_changed_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class WebSession(SQLModel, table=True):
    """Server-side sessions, so logout and password change really end them."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)  # SHA-256 of the cookie value
    user_id: str = Field(max_length=36, index=True)
    csrf_token: str = Field(max_length=64)
    mfa_pending: bool = False
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"

    key: str = Field(primary_key=True, max_length=255)
    principal: str = Field(primary_key=True, max_length=36)
    method: str = Field(max_length=8)
    path: str = Field(max_length=2048)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str
    created_at: datetime = _created()


class Rollup(SQLModel, table=True):
    """Hourly/daily aggregates of runs kept beyond the raw-history retention window."""

    __tablename__ = "run_rollup"

    check_id: str = Field(primary_key=True, max_length=36)
    period: str = Field(primary_key=True, max_length=8)  # hour | day
    bucket_start: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    count_pass: int = 0
    count_warn: int = 0
    count_fail: int = 0
    count_error: int = 0
    duration_ms_sum: float = 0.0
    duration_ms_max: float = 0.0


class Node(SQLModel, table=True):
    """A running scheduler/worker process (for /readyz and multi-node visibility)."""

    __tablename__ = "node"

    id: str = Field(primary_key=True, max_length=128)
    role: str = Field(max_length=16)
    hostname: str = Field(default="", max_length=255)
    pid: int = 0
    location: str = Field(default="", max_length=63)  # where its probes come from ("" = none)
    started_at: datetime = _created()
    last_seen_at: datetime = _created()


class MaintenanceWindow(SQLModel, table=True):
    __tablename__ = "maintenance_window"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=255)
    services: list[str] = _json([])
    starts_at: datetime | None = _ts()
    ends_at: datetime | None = _ts()
    schedule: str | None = Field(default=None, max_length=120)
    duration_s: float | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()
    deleted_at: datetime | None = _ts()


class MetricCounter(SQLModel, table=True):
    """Monotonic counters for /metrics, incremented by triggers (migration m001_metric_counters)."""

    __tablename__ = "metric_counter"

    family: str = Field(primary_key=True, max_length=32)
    a: str = Field(primary_key=True, max_length=63)
    b: str = Field(primary_key=True, max_length=32)
    total: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
