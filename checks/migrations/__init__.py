"""The ``migrations`` check: is the schema at the release's migration, with nothing failed?

collect reads the tool's ledger with plain SELECTs over a read-only connection (DSN from the
environment variable ``dsn_env`` names) in a worker thread; evaluate compares it with the
expected state, purely.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from auditor.probe.interface import Endpoint
from checks.base import Check, Options, Outcome, ProbeContext, ProbeError, Target, codes_of
from checks.bounds import Span
from checks.migrations.adapters import ADAPTERS, LedgerSettings, detect
from checks.migrations.db import connect, dsn_from, dsn_preflight
from checks.migrations.evaluate import evaluate
from checks.migrations.manifest import Expectation, parse_manifest
from checks.migrations.model import Ledger

ToolName = Literal[
    "auto",
    "alembic",
    "django",
    "flyway",
    "liquibase",
    "golang-migrate",
    "rails",
    "prisma",
    "knex",
    "dbmate",
    "sequelize",
    "atlas",
    "sqitch",
]


class MigrationsOptions(Options):
    """DESIGN §4 keys ``tool dsn_env expected expected_head manifest`` plus tuning knobs."""

    tool: ToolName = "auto"
    dsn_env: str
    expected: list[str] | None = None
    expected_head: str | list[str] | None = None
    manifest: str | None = None
    #: ledger table/schema overrides (Flyway ``table``, golang-migrate ``x-migrations-table``…)
    table: str | None = None
    db_schema: str | None = Field(default=None, alias="schema")
    #: sqitch project to restrict the registry to
    project: str | None = None
    #: how long a Prisma row may stay unfinished before it counts as failed
    grace: Span = 600.0
    #: how long a Liquibase/Knex lock may be held before it counts as stuck
    lock_max_age: Span = 900.0

    @model_validator(mode="after")
    def _check(self) -> MigrationsOptions:
        if not self.dsn_env.strip():
            raise ValueError("dsn_env must name an environment variable holding the DSN")
        if "://" in self.dsn_env:
            raise ValueError(
                "dsn_env names an environment variable; never put the DSN itself in config"
            )
        return self


class MigrationsCheck(Check[MigrationsOptions]):
    kind = "migrations"
    Options: ClassVar[type[MigrationsOptions]] = MigrationsOptions  # type: ignore[misc]
    error_codes: ClassVar[dict[str, str]] = {
        "unreachable": "unreachable",
        "timeout": "unreachable",
        "refused": "unreachable",
        "dns": "unreachable",
    }
    codes = codes_of(
        "migrations", "pending", "failed", "dirty", "partial", "ahead", "checksum_drift",
        "lock_stuck", "locked", "lock_in_future", "in_progress", "unverified", "table_missing",
        "unreachable", "query_failed", "blocked_by_policy",
    )  # fmt: skip

    async def collect(
        self, target: Target, options: MigrationsOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        dsn = dsn_from(ctx.environ, options.dsn_env)
        expected = await asyncio.to_thread(_expectation, options)
        previous = ctx.history.previous_facts(target.check_id) if target.check_id else []
        budget = max(0.5, ctx.remaining() * 0.8)
        observed = ctx.now()
        facts = await asyncio.to_thread(
            _read_ledger, dsn, options, budget, ctx.http.database_endpoints
        )
        facts["observed_at"] = observed.isoformat()
        if expected is not None:
            facts["expected"] = expected.to_facts()
        if facts.get("ledger"):
            _carry_lock_since(facts["ledger"], previous, facts["observed_at"])
        return facts

    def preflight(
        self, options: MigrationsOptions, environ: Mapping[str, str]
    ) -> list[tuple[str, str]]:
        return dsn_preflight(environ, options.dsn_env)

    def evaluate(self, facts: Mapping[str, Any], options: MigrationsOptions) -> Outcome:
        return evaluate(facts, options.grace, options.lock_max_age)


def _expectation(options: MigrationsOptions) -> Expectation | None:
    """Expected state from ``manifest``, ``expected`` and ``expected_head`` (merged)."""
    exp: Expectation | None = None
    if options.manifest:
        try:
            text = Path(options.manifest).read_text(encoding="utf-8")
        except OSError as exc:
            raise ProbeError(
                "config", f"cannot read manifest {options.manifest}: {exc.strerror or exc}"
            ) from None
        try:
            exp = parse_manifest(text)
        except ValueError as exc:
            raise ProbeError("config", f"manifest {options.manifest}: {exc}") from None
    if options.expected is not None:
        exp = exp or Expectation("expected")
        exp.ids = list(options.expected)
    if options.expected_head is not None:
        exp = exp or Expectation("expected_head")
        head = options.expected_head
        exp.heads = [head] if isinstance(head, str) else list(head)
    return exp


def _read_ledger(
    dsn: str,
    options: MigrationsOptions,
    budget: float,
    endpoints_of: Callable[[str], list[Endpoint]],
) -> dict[str, Any]:
    """Blocking part: connect, find the ledger, read it. Runs in a worker thread."""
    settings = LedgerSettings(options.table, options.db_schema, options.project)
    started = time.monotonic()
    with connect(dsn, options.dsn_env, budget, endpoints_of) as db:
        facts: dict[str, Any] = {"dialect": db.dialect, "tool": options.tool}
        if options.tool == "auto":
            found = detect(db, settings)
            facts["detected"] = [a.name for a, _ in found]
            if not found:
                custom = (
                    db.find_table(settings.table, [settings.schema]) if settings.table else None
                )
                if custom is not None:
                    raise ProbeError(
                        "config",
                        f"table {custom} has the shape of no known migration ledger "
                        f"(columns: {', '.join(sorted(db.columns(custom)))}); set tool",
                    )
                facts.update(table_found=False, table=None, tool="auto")
                return facts
            adapter, ref = found[0]
            facts["tool"] = adapter.name
        else:
            adapter = ADAPTERS[options.tool]
            located = adapter.locate(db, settings)
            if located is None:
                facts.update(table_found=False, table=settings.table or adapter.table)
                return facts
            adapter.check_shape(db, located)
            ref = located
        ledger: Ledger = adapter.read(db, ref, settings)
        facts.update(table_found=True, table=str(ref), ledger=ledger.to_facts())
        facts["query_ms"] = round((time.monotonic() - started) * 1000.0, 1)
        return facts


def _carry_lock_since(
    ledger: dict[str, Any], previous: list[Mapping[str, Any]], observed_at: str
) -> None:
    """Locks without a timestamp (Knex) are "held since" the first run that saw them held."""
    before: dict[str, Any] = {}
    if previous:
        for lock in (previous[0].get("ledger") or {}).get("locks", []):
            if lock.get("held") and lock.get("since"):
                before[lock["name"]] = lock["since"]
    for lock in ledger.get("locks", []):
        if lock.get("held") and not lock.get("since"):
            lock["since"] = before.get(lock["name"], observed_at)
            lock["since_inferred"] = True


__all__ = ["MigrationsCheck", "MigrationsOptions"]
