"""Catalog facts as plain dataclasses: what the engine readers collect and the rules judge.

The same shape for PostgreSQL, MySQL/MariaDB and SQLite, so each rule is written once.
``to_facts``/``from_facts`` make it JSON (the stored run facts) and back again; nothing here
holds a data value — only names, types and counters (statement texts are normalised by
``pg_stat_statements`` and only DML is kept).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Column:
    """A column: ``type`` as the catalog spells it, lower-case (``timestamp without time
    zone``, ``bigint unsigned``, ``char(36)``); ``generated`` is an identity, serial or
    auto-increment default; ``expression`` is a generated (computed) column's definition."""

    name: str
    type: str
    generated: bool = False
    expression: str | None = None


@dataclass
class Index:
    """An index; ``columns`` holds column names or expression texts, in key order."""

    name: str
    columns: list[str]
    unique: bool = False
    primary: bool = False
    predicate: str | None = None
    #: access method (``btree``, ``gin``, ``hash``…) where the engine names it
    method: str | None = None
    #: PostgreSQL ``pg_stat_user_indexes.idx_scan``; None where the engine keeps no count
    scans: int | None = None


@dataclass
class ForeignKey:
    name: str
    columns: list[str]
    references: str


@dataclass
class Counter:
    """A key generator (sequence, auto-increment) and the largest value its column holds."""

    column: str
    value: int
    limit: int


@dataclass
class Table:
    """A base table; ``name`` is schema-qualified when the check reads several schemas."""

    name: str
    schema: str | None = None
    columns: list[Column] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    counters: list[Counter] = field(default_factory=list)

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name.lower() == name.lower():
                return col
        return None


@dataclass
class SlowQuery:
    query: str
    calls: int
    mean_ms: float
    max_ms: float


@dataclass
class SlowQueries:
    """``pg_stat_statements`` over the threshold; ``enabled`` False says why in ``reason``."""

    enabled: bool
    reason: str | None = None
    top: list[SlowQuery] = field(default_factory=list)


@dataclass
class Connections:
    active: int
    max: int


@dataclass
class Catalog:
    """Everything one run read. Times are the server's own clock, ISO 8601."""

    dialect: str
    schemas: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    observed_at: str | None = None
    #: since when ``Index.scans`` counts (stats reset, else server start); None = unknown
    stats_since: str | None = None
    connections: Connections | None = None
    slow: SlowQueries | None = None
    truncated: bool = False

    def to_facts(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> Catalog:
        tables = [
            Table(
                name=t["name"],
                schema=t.get("schema"),
                columns=[Column(**c) for c in t.get("columns", [])],
                primary_key=list(t.get("primary_key", [])),
                indexes=[Index(**i) for i in t.get("indexes", [])],
                foreign_keys=[ForeignKey(**f) for f in t.get("foreign_keys", [])],
                counters=[Counter(**c) for c in t.get("counters", [])],
            )
            for t in facts.get("tables", [])
        ]
        conn = facts.get("connections")
        slow = facts.get("slow")
        return cls(
            dialect=facts.get("dialect", ""),
            schemas=list(facts.get("schemas", [])),
            tables=tables,
            observed_at=facts.get("observed_at"),
            stats_since=facts.get("stats_since"),
            connections=Connections(**conn) if conn else None,
            slow=(
                SlowQueries(
                    enabled=slow["enabled"],
                    reason=slow.get("reason"),
                    top=[SlowQuery(**q) for q in slow.get("top", [])],
                )
                if slow
                else None
            ),
            truncated=bool(facts.get("truncated")),
        )
