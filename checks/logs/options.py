"""Options of the ``logging`` kind (DESIGN §4 keys ``backend url query window min_lines``)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from checks.remote import RemoteOptions, check_base_url, parse_window

FieldName = Literal["level", "timestamp", "message", "request_id"]
FIELDS: tuple[FieldName, ...] = ("level", "timestamp", "message", "request_id")
#: where structured loggers put each field (python-json-logger, structlog, pino, logrus,
#: zap, Serilog, ECS, OpenTelemetry); dotted names also match nested objects
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {
    "level": ("level", "severity", "lvl", "levelname", "loglevel", "log.level", "severity_text",
              "@l"),
    "timestamp": ("timestamp", "time", "ts", "@timestamp", "@t", "datetime", "asctime", "t"),
    "message": ("message", "msg", "event", "@m", "@mt", "body"),
    "request_id": ("request_id", "requestId", "request.id", "req_id", "reqId", "x_request_id",
                   "http.request.id", "trace_id", "traceId", "trace.id", "correlation_id",
                   "correlationId"),
}  # fmt: skip
_INDEX = re.compile(r"^[^\s/\\?#\"<>|]+$")
Backend = Literal["loki", "elasticsearch", "opensearch"]


class LoggingOptions(RemoteOptions):
    """Where the log store is, what selects the service's lines and what they must show.

    Attributes:
        backend: ``loki``, or ``elasticsearch`` / ``opensearch`` (the same search API).
        url: base URL of the store.
        query: Loki: a LogQL selector (default ``{service_name="<service>"}``); Elasticsearch:
            a Lucene query string (default ``service.name:"<service>"``).
        index: Elasticsearch index or pattern (``logs-*``).
        timestamp_field: Elasticsearch time field the window applies to.
        tenant: Loki tenant (sent as ``X-Scope-OrgID``).
        window: how recent the lines must be (``"15m"``; 1m to 7d).
        min_lines: fewest lines the window must hold.
        sample: newest lines read to judge their structure (1 to 1000).
        min_structured: share of sampled lines that must be JSON carrying each field.
        require: the fields judged; ``request_id`` needs only appear on some line.
        fields: field -> names it may go by, replacing the defaults for that field.
    """

    backend: Backend
    url: str
    query: str | None = Field(None, min_length=1, max_length=2000)
    index: str = "logs-*"
    timestamp_field: str = "@timestamp"
    tenant: str | None = Field(None, min_length=1, max_length=200)
    window: float = 900.0
    min_lines: int = Field(1, ge=0, le=1_000_000)
    sample: int = Field(100, ge=1, le=1000)
    min_structured: float = Field(0.9, ge=0.0, le=1.0)
    require: list[FieldName] = Field(default_factory=lambda: list(FIELDS), max_length=len(FIELDS))
    fields: dict[str, list[str]] = Field({}, max_length=len(FIELDS))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_base_url(value, "url")

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> float:
        return parse_window(value)

    @field_validator("index")
    @classmethod
    def _index(cls, value: str) -> str:
        if not _INDEX.match(value) or value.startswith(("_", "-", "+")):
            raise ValueError(f"index must be an index name or pattern like logs-*, got {value!r}")
        return value

    @field_validator("timestamp_field")
    @classmethod
    def _timestamp_field(cls, value: str) -> str:
        if not re.fullmatch(r"[@\w.]+", value):
            raise ValueError("timestamp_field must be a field name like @timestamp")
        return value

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
        for name, aliases in value.items():
            if not aliases or any(not a.strip() for a in aliases):
                raise ValueError(f"fields.{name} must list at least one non-empty field name")
        return value

    @model_validator(mode="after")
    def _query_syntax(self) -> LoggingOptions:
        if (
            self.backend == "loki"
            and self.query is not None
            and not self.query.lstrip().startswith("{")
        ):
            raise ValueError('query must be a LogQL selector like {service_name="payments"}')
        return self

    def aliases(self) -> dict[str, tuple[str, ...]]:
        return {f: tuple(self.fields.get(f) or DEFAULT_ALIASES[f]) for f in FIELDS}
