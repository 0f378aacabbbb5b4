"""The schema rules: pure functions from catalog facts to hits, one per rule id.

Each rule has an id (the finding code without ``schema.``), a default level and a one-line
fix; a hit names its place (``table`` or ``table.column``) and what is wrong. Which rules
run, at what level, and where they are waived is decided in :mod:`checks.schema.evaluate`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from checks.schema.model import Catalog, Index, Table


@dataclass(frozen=True)
class Thresholds:
    """The numbers and names the rules compare against (from the check's options)."""

    serial_ratio: float = 0.75
    connection_ratio: float = 0.8
    unused_index_min_age: float = 7 * 86400.0
    slow_query_ms: float = 500.0
    timestamps: tuple[str, ...] = ("created_at", "updated_at")
    soft_delete_column: str = "deleted_at"


@dataclass(frozen=True)
class Hit:
    """One rule broken at one place; ``notice`` hits (the "not enabled" kind) are always info."""

    place: str
    table: str | None
    message: str
    notice: bool = False


RuleFn = Callable[[Catalog, Thresholds], list[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    fix: str
    check: RuleFn


_MONEY = re.compile(
    r"(^|_)(price|amount|cost|total|subtotal|balance|fee|salary|wage|payment|revenue|money|"
    r"tax|discount|charge|refund|payout)s?($|_)",
    re.IGNORECASE,
)
_FLOAT = re.compile(r"^(real|double( precision)?|float[48]?|float\(\d+\))( unsigned)?$")
_BIGINT = {"bigint", "int8", "bigint unsigned"}
_UUID_STORAGE = {"binary(16)", "char(36)", "varchar(36)"}
INT_MAX = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1}


def _place(table: Table, column: str | None = None) -> str:
    return f"{table.name}.{column}" if column else table.name


def no_primary_key(cat: Catalog, _th: Thresholds) -> list[Hit]:
    return [
        Hit(t.name, t.name, "table has no primary key") for t in cat.tables if not t.primary_key
    ]


def key_type(cat: Catalog, _th: Thresholds) -> list[Hit]:
    out = []
    for table in cat.tables:
        if len(table.primary_key) != 1:
            continue  # none (no_primary_key) or composite (join tables): not a surrogate key
        col = table.column(table.primary_key[0])
        if col is None:
            continue
        kind = col.type
        if "uuid" in kind or kind in _UUID_STORAGE:
            continue
        if kind in _BIGINT and col.generated:
            continue
        if cat.dialect == "sqlite" and kind == "integer" and col.generated:
            continue  # INTEGER PRIMARY KEY is the 64-bit rowid
        what = f"{kind} identity" if col.generated else kind
        out.append(
            Hit(
                _place(table, col.name),
                table.name,
                f"primary key is {what}, not a UUID or bigint identity",
            )
        )
    return out


def serial_exhaustion(cat: Catalog, th: Thresholds) -> list[Hit]:
    out = []
    for table in cat.tables:
        for counter in table.counters:
            if counter.limit <= 0:
                continue
            used = counter.value / counter.limit
            if used >= th.serial_ratio:
                out.append(
                    Hit(
                        _place(table, counter.column),
                        table.name,
                        f"key counter at {counter.value:,} of {counter.limit:,} "
                        f"({used:.0%} used, warn at {th.serial_ratio:.0%})",
                    )
                )
    return out


def missing_timestamps(cat: Catalog, th: Thresholds) -> list[Hit]:
    out = []
    for table in cat.tables:
        missing = [name for name in th.timestamps if table.column(name) is None]
        if missing:
            out.append(Hit(table.name, table.name, f"no {' / '.join(missing)} column"))
    return out


def timestamp_without_tz(cat: Catalog, _th: Thresholds) -> list[Hit]:
    out = []
    for table in cat.tables:
        for col in table.columns:
            if col.type.startswith("timestamp") and col.type.endswith("without time zone"):
                out.append(Hit(_place(table, col.name), table.name, f"{col.type} column"))
    return out


def _leads_with(index_columns: list[str], columns: list[str]) -> bool:
    lead = [c.lower() for c in index_columns[: len(columns)]]
    return len(lead) == len(columns) and set(lead) == {c.lower() for c in columns}


def _key_lists(table: Table) -> list[list[str]]:
    lists = [ix.columns for ix in table.indexes if ix.predicate is None]
    return [*lists, table.primary_key] if table.primary_key else lists


def fk_unindexed(cat: Catalog, _th: Thresholds) -> list[Hit]:
    out = []
    for table in cat.tables:
        keys = _key_lists(table)
        for fk in table.foreign_keys:
            if not any(_leads_with(cols, fk.columns) for cols in keys):
                cols = ", ".join(fk.columns)
                out.append(
                    Hit(
                        _place(table, cols if len(fk.columns) == 1 else f"({cols})"),
                        table.name,
                        f"foreign key {fk.name} -> {fk.references} has no index leading with it",
                    )
                )
    return out


def _rank(ix: Index) -> tuple[int, int, str]:
    return (0 if ix.primary else 1, 0 if ix.unique else 1, ix.name)


def duplicate_index(cat: Catalog, _th: Thresholds) -> list[Hit]:
    out = []
    for table in cat.tables:
        seen: dict[tuple[object, ...], Index] = {}
        for ix in sorted(table.indexes, key=_rank):
            key = (ix.method, tuple(c.lower() for c in ix.columns), ix.predicate)
            first = seen.setdefault(key, ix)
            if first is not ix:
                out.append(
                    Hit(
                        table.name,
                        table.name,
                        f"index {ix.name} ({', '.join(ix.columns)}) duplicates {first.name}",
                    )
                )
    return out


def _age_seconds(cat: Catalog) -> float | None:
    if not cat.stats_since or not cat.observed_at:
        return None
    since = datetime.fromisoformat(cat.stats_since)
    now = datetime.fromisoformat(cat.observed_at)
    return (now - since).total_seconds()


def unused_index(cat: Catalog, th: Thresholds) -> list[Hit]:
    age = _age_seconds(cat)
    if age is None or age < th.unused_index_min_age:
        return []  # counts too young (or unknown) to call anything unused
    since = (cat.stats_since or "")[:10]
    out = []
    for table in cat.tables:
        for ix in table.indexes:
            if ix.scans != 0 or ix.unique or ix.primary:
                continue  # constraints are used by every write, whatever the scan count
            if any(_leads_with(ix.columns, fk.columns) for fk in table.foreign_keys):
                continue  # serves the foreign key's checks on delete/update of the parent
            out.append(
                Hit(
                    table.name,
                    table.name,
                    f"index {ix.name} has not been scanned since {since} "
                    f"(statistics {age / 86400:.0f} days old)",
                )
            )
    return out


def soft_delete_unique(cat: Catalog, th: Thresholds) -> list[Hit]:
    marker = th.soft_delete_column.lower()
    out = []
    for table in cat.tables:
        if table.column(marker) is None:
            continue
        for ix in table.indexes:
            if not ix.unique or ix.primary:
                continue
            computed = [table.column(c) for c in ix.columns]
            texts = [*ix.columns, ix.predicate or ""]
            texts += [c.expression or "" for c in computed if c is not None]
            if any(marker in text.lower() for text in texts):
                continue
            out.append(
                Hit(
                    table.name,
                    table.name,
                    f"unique index {ix.name} ({', '.join(ix.columns)}) ignores {marker}: "
                    "a deleted row still blocks its value",
                )
            )
    return out


def float_money(cat: Catalog, _th: Thresholds) -> list[Hit]:
    out = []
    for table in cat.tables:
        for col in table.columns:
            if _MONEY.search(col.name) and _FLOAT.match(col.type):
                out.append(
                    Hit(_place(table, col.name), table.name, f"money in a {col.type} column")
                )
    return out


def connection_headroom(cat: Catalog, th: Thresholds) -> list[Hit]:
    conn = cat.connections
    if conn is None or conn.max <= 0:
        return []
    used = conn.active / conn.max
    if used < th.connection_ratio:
        return []
    return [
        Hit(
            "server",
            None,
            f"{conn.active} of max_connections {conn.max} in use ({used:.0%}, "
            f"warn at {th.connection_ratio:.0%})",
        )
    ]


def slow_queries(cat: Catalog, th: Thresholds) -> list[Hit]:
    slow = cat.slow
    if slow is None:
        return []  # the engine has no statement statistics (MySQL, SQLite)
    if not slow.enabled:
        return [Hit("server", None, f"slow queries not measured: {slow.reason}", notice=True)]
    return [
        Hit(
            "query",
            None,
            f"mean {q.mean_ms:.0f} ms, max {q.max_ms:.0f} ms over {q.calls:,} calls "
            f"(threshold {th.slow_query_ms:g} ms): {q.query}",
        )
        for q in slow.top
        if q.mean_ms >= th.slow_query_ms
    ]


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule("no_primary_key", "fail", "add a primary key (uuid or bigint identity)", no_primary_key),
        Rule("key_type", "warn", "use uuid or bigint GENERATED ALWAYS AS IDENTITY", key_type),
        Rule("serial_exhaustion", "fail", "ALTER the key column to bigint before it runs out", serial_exhaustion),
        Rule("missing_timestamps", "warn", "add created_at and updated_at (timestamptz)", missing_timestamps),
        Rule("timestamp_without_tz", "warn", "use timestamp with time zone (timestamptz)", timestamp_without_tz),
        Rule("fk_unindexed", "warn", "CREATE INDEX on the foreign-key column(s)", fk_unindexed),
        Rule("duplicate_index", "warn", "drop the duplicate index", duplicate_index),
        Rule("unused_index", "info", "drop it if no query needs it (check every replica first)", unused_index),
        Rule("soft_delete_unique", "warn", "make it partial: WHERE deleted_at IS NULL", soft_delete_unique),
        Rule("float_money", "fail", "use numeric/decimal or integer minor units (cents)", float_money),
        Rule("connection_headroom", "warn", "pool connections (PgBouncer, a smaller app pool) or raise max_connections", connection_headroom),
        Rule("slow_queries", "warn", "EXPLAIN ANALYZE the statement; add an index or rewrite it", slow_queries),
    )
}  # fmt: skip
