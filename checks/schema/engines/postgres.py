"""PostgreSQL catalog reader: pg_catalog, pg_stat_user_indexes, pg_stat_statements.

Catalog access is enough (no table data is read). Statistics views answer what the role may
see; ``pg_stat_statements`` is only read when installed and loaded, and only DML statements
(normalised by the extension, so without their constants) are kept.
"""

from __future__ import annotations

from typing import Any

from checks.base import ProbeError
from checks.migrations.db import Database
from checks.schema.engines.common import ReadSettings, iso, short_query
from checks.schema.model import (
    Catalog,
    Column,
    Connections,
    Counter,
    ForeignKey,
    Index,
    SlowQueries,
    SlowQuery,
    Table,
)
from checks.schema.rules import INT_MAX

_SCHEMAS = "SELECT nspname AS s FROM pg_namespace WHERE nspname = ANY(%s)"
_TABLES = """
SELECT c.oid::bigint AS oid, n.nspname AS s, c.relname AS t
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%s)
ORDER BY n.nspname, c.relname LIMIT %s
"""
_COLUMNS = """
SELECT a.attrelid::bigint AS oid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
  (a.attidentity <> '' OR left(pg_get_expr(d.adbin, d.adrelid), 8) = 'nextval(') AS generated
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY(%s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
_INDEXES = """
SELECT i.indrelid::bigint AS oid, ic.relname AS name, i.indisunique AS uniq,
  i.indisprimary AS prim, pg_get_expr(i.indpred, i.indrelid, true) AS pred, am.amname AS method,
  ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
        FROM generate_series(1, i.indnkeyatts) AS k ORDER BY k) AS cols,
  s.idx_scan AS scans
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
WHERE i.indrelid = ANY(%s::oid[])
ORDER BY ic.relname
"""
_FKS = """
SELECT c.conrelid::bigint AS oid, c.conname AS name, c.confrelid::regclass::text AS ref,
  ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(num, ord)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
        ORDER BY k.ord) AS cols
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid = ANY(%s::oid[])
ORDER BY c.conname
"""
_COUNTERS = """
SELECT d.refobjid::bigint AS oid, a.attname AS col, format_type(a.atttypid, NULL) AS type,
  s.last_value AS value, s.max_value AS seqmax
FROM pg_depend d
JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = sc.relnamespace
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
JOIN pg_sequences s ON s.schemaname = sn.nspname AND s.sequencename = sc.relname
WHERE d.classid = 'pg_class'::regclass AND d.refobjid = ANY(%s::oid[]) AND d.deptype IN ('a', 'i')
"""
_SERVER = """
SELECT COALESCE((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                pg_postmaster_start_time()) AS since,
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS active,
  current_setting('max_connections')::int AS max
"""
_EXTENSION = """
SELECT n.nspname AS s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""
_STATEMENTS = r"""
SELECT query, calls, {mean} AS mean_ms, {max} AS max_ms
FROM {view}
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND query ~* '^\s*(/\*.*?\*/\s*)*(select|insert|update|delete|with|merge|table|values)\M'
  AND {mean} >= %s
ORDER BY {mean} DESC LIMIT %s
"""
NOT_INSTALLED = (
    "pg_stat_statements is not enabled (not installed in this database: add it to "
    "shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements)"
)
NOT_LOADED = (
    "pg_stat_statements is not enabled (installed but not loaded: add it to "
    "shared_preload_libraries and restart the server)"
)


def read(db: Database, settings: ReadSettings) -> Catalog:
    schemas = list(settings.schemas) or [db.default_schema or "public"]
    present = {str(r["s"]) for r in db.select(_SCHEMAS, (schemas,))}
    missing = [name for name in schemas if name not in present]
    if missing:
        raise ProbeError(
            "config", f"schemas: {', '.join(missing)} not found (or not visible to this role)"
        )
    rows = db.select(_TABLES, (schemas, settings.max_tables + 1))
    cat = Catalog("postgresql", schemas, truncated=len(rows) > settings.max_tables)
    by_oid: dict[int, Table] = {}
    for row in rows[: settings.max_tables]:
        # several schemas may hold the same table name: then every place names its schema
        shown = f"{row['s']}.{row['t']}" if len(schemas) > 1 else str(row["t"])
        table = Table(shown, str(row["s"]))
        by_oid[int(row["oid"])] = table
        cat.tables.append(table)
    oids = list(by_oid)
    if oids:
        _details(db, oids, by_oid)
    server = db.select(_SERVER)[0]
    cat.stats_since = iso(server["since"])
    cat.connections = Connections(int(server["active"]), int(server["max"]))
    cat.slow = slow_queries(db, settings)
    return cat


def _details(db: Database, oids: list[int], by_oid: dict[int, Table]) -> None:
    for row in db.select(_COLUMNS, (oids,)):
        by_oid[int(row["oid"])].columns.append(
            Column(str(row["name"]), str(row["type"]).lower(), bool(row["generated"]))
        )
    for row in db.select(_INDEXES, (oids,)):
        table = by_oid[int(row["oid"])]
        cols = [str(c) for c in row["cols"]]
        table.indexes.append(
            Index(
                str(row["name"]),
                cols,
                unique=bool(row["uniq"]),
                primary=bool(row["prim"]),
                predicate=row["pred"],
                method=str(row["method"]),
                scans=None if row["scans"] is None else int(row["scans"]),
            )
        )
        if row["prim"]:
            table.primary_key = cols
    for row in db.select(_FKS, (oids,)):
        by_oid[int(row["oid"])].foreign_keys.append(
            ForeignKey(str(row["name"]), [str(c) for c in row["cols"]], str(row["ref"]))
        )
    for row in db.select(_COUNTERS, (oids,)):
        if row["value"] is None:
            continue  # never used, or the role may not read the sequence
        limit = min(INT_MAX.get(str(row["type"]), 2**63 - 1), int(row["seqmax"]))
        by_oid[int(row["oid"])].counters.append(Counter(str(row["col"]), int(row["value"]), limit))


def slow_queries(db: Database, settings: ReadSettings) -> SlowQueries:
    """The top statements by mean time, or why they cannot be read (never a guess)."""
    import psycopg

    found = db.select(_EXTENSION)
    if not found:
        return SlowQueries(False, NOT_INSTALLED)
    view = f"{db.quote(str(found[0]['s']))}.pg_stat_statements"
    params = (settings.slow_query_ms, settings.slow_query_limit)
    rows: list[dict[str, Any]] = []
    try:
        try:
            sql = _STATEMENTS.format(view=view, mean="mean_exec_time", max="max_exec_time")
            rows = db.select(sql, params)
        except psycopg.errors.UndefinedColumn:  # extension before 1.8 (PostgreSQL 12)
            sql = _STATEMENTS.format(view=view, mean="mean_time", max="max_time")
            rows = db.select(sql, params)
    except psycopg.errors.ObjectNotInPrerequisiteState:
        return SlowQueries(False, NOT_LOADED)
    except psycopg.errors.InsufficientPrivilege:
        return SlowQueries(False, "pg_stat_statements is not readable by this role")
    top = [
        SlowQuery(
            short_query(str(r["query"])),
            int(r["calls"]),
            round(float(r["mean_ms"]), 1),
            round(float(r["max_ms"]), 1),
        )
        for r in rows
    ]
    return SlowQueries(True, None, top)
