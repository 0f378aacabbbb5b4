"""The ``schema`` check: does the service's database follow the house schema practice?

collect reads catalog facts (tables, columns, keys, indexes, counters, connections,
statement statistics) over the same read-only, policy-checked, time-limited connection the
``migrations`` check uses (:mod:`checks.migrations.db`), in a worker thread; evaluate runs
the named rules of :mod:`checks.schema.rules` over them, purely. Config-file tier only: a
DSN names a host the daemon connects to (:mod:`checks.tiers`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from auditor.probe.interface import Endpoint
from checks.base import Check, Options, Outcome, ProbeContext, ProbeError, Target, codes_of
from checks.bounds import MAX_ITEMS, Span
from checks.migrations.db import connect, dsn_from, dsn_preflight
from checks.schema.engines import READERS, ReadSettings
from checks.schema.evaluate import evaluate
from checks.schema.rules import RULES, Thresholds

Level = Literal["off", "info", "warn", "fail"]
Ratio = Annotated[float, Field(gt=0, le=1)]


def rule_id(name: str) -> str:
    """``schema.key_type`` or ``key_type`` -> ``key_type``; ValueError for an unknown rule."""
    bare = name.strip().removeprefix("schema.")
    if bare not in RULES:
        raise ValueError(f"unknown rule {name!r} (known: {', '.join(RULES)})")
    return bare


class SchemaOptions(Options):
    """DESIGN §4 keys ``dsn_env tables rules slow_query_ms`` plus thresholds."""

    dsn_env: str
    #: PostgreSQL schemas to audit (default: the connection's current schema)
    db_schemas: list[str] = Field(default_factory=list, alias="schemas", max_length=MAX_ITEMS)
    #: allow-list: table pattern (``legacy_*``, ``orders.total``) -> rules waived there (``*``)
    tables: dict[str, list[str]] = Field(default_factory=dict, max_length=500)
    #: rule -> level (``off`` | ``info`` | ``warn`` | ``fail``), over each rule's default
    rules: dict[str, Level] = Field(default_factory=dict)
    slow_query_ms: float = Field(500.0, ge=0, le=3_600_000)
    slow_query_limit: int = Field(5, ge=1, le=MAX_ITEMS)
    connection_threshold: Ratio = 0.8
    serial_threshold: Ratio = 0.75
    unused_index_min_age: Span = 7 * 86400.0
    timestamps: list[str] = Field(["created_at", "updated_at"], max_length=MAX_ITEMS)
    soft_delete_column: str = Field("deleted_at", min_length=1)

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: dict[str, Level]) -> dict[str, Level]:
        return {rule_id(name): level for name, level in value.items()}

    @field_validator("tables")
    @classmethod
    def _tables(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        out = {}
        for pattern, names in value.items():
            if not pattern.strip():
                raise ValueError("a table pattern must not be empty")
            try:
                out[pattern] = [n if n == "*" else rule_id(n) for n in names]
            except ValueError as exc:
                raise ValueError(f"{pattern}: {exc}") from None
        return out

    @model_validator(mode="after")
    def _check(self) -> SchemaOptions:
        if not self.dsn_env.strip():
            raise ValueError("dsn_env must name an environment variable holding the DSN")
        if "://" in self.dsn_env:
            raise ValueError(
                "dsn_env names an environment variable; never put the DSN itself in config"
            )
        return self

    def thresholds(self) -> Thresholds:
        return Thresholds(
            serial_ratio=self.serial_threshold,
            connection_ratio=self.connection_threshold,
            unused_index_min_age=self.unused_index_min_age,
            slow_query_ms=self.slow_query_ms,
            timestamps=tuple(self.timestamps),
            soft_delete_column=self.soft_delete_column,
        )


class SchemaCheck(Check[SchemaOptions]):
    kind = "schema"
    Options: ClassVar[type[SchemaOptions]] = SchemaOptions  # type: ignore[misc]
    codes = codes_of("schema", *RULES, "unreachable", "query_failed", "blocked_by_policy")
    error_codes: ClassVar[dict[str, str]] = {
        "unreachable": "unreachable",
        "timeout": "unreachable",
        "refused": "unreachable",
        "dns": "unreachable",
    }

    async def collect(
        self, target: Target, options: SchemaOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        dsn = dsn_from(ctx.environ, options.dsn_env)
        settings = ReadSettings(
            tuple(options.db_schemas), options.slow_query_ms, options.slow_query_limit
        )
        budget = max(0.5, ctx.remaining() * 0.8)
        facts = await asyncio.to_thread(
            _read, dsn, options.dsn_env, settings, budget, ctx.http.database_endpoints
        )
        facts["observed_at"] = ctx.now().isoformat()
        return facts

    def preflight(
        self, options: SchemaOptions, environ: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        return dsn_preflight(environ, options.dsn_env)

    def evaluate(self, facts: Mapping[str, Any], options: SchemaOptions) -> Outcome:
        return evaluate(facts, options.rules, options.tables, options.thresholds())


def _read(
    dsn: str,
    env_name: str,
    settings: ReadSettings,
    budget: float,
    endpoints_of: Callable[[str], list[Endpoint]],
) -> dict[str, Any]:
    """Blocking part: connect read-only and read the catalog. Runs in a worker thread."""
    with connect(dsn, env_name, budget, endpoints_of) as db:
        if settings.schemas and db.dialect != "postgresql":
            raise ProbeError(
                "config", f"schemas applies to PostgreSQL only; this DSN is {db.dialect}"
            )
        return READERS[db.dialect](db, settings).to_facts()


__all__ = ["SchemaCheck", "SchemaOptions"]
