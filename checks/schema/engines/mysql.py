"""MySQL / MariaDB catalog reader: information_schema of the DSN's database.

Integer display widths (``int(11)``) are dropped so types read the same on every version;
auto-increment counters come from ``information_schema.TABLES.AUTO_INCREMENT``. There are no
per-index scan counts or statement statistics here by default, so ``unused_index`` and
``slow_queries`` do not apply.
"""

from __future__ import annotations

import re

from checks.base import ProbeError
from checks.migrations.db import Database
from checks.schema.engines.common import ReadSettings, as_str
from checks.schema.model import Catalog, Column, Connections, Counter, ForeignKey, Index, Table

_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)")
_INT_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}


def _type(raw: str) -> str:
    return _WIDTH.sub(r"\1", raw.strip().lower())


def int_limit(kind: str) -> int | None:
    """The largest value an integer column type holds, None for other types."""
    base, _, rest = kind.partition(" ")
    bits = _INT_BITS.get(base)
    if bits is None:
        return None
    return 2**bits - 1 if "unsigned" in rest else 2 ** (bits - 1) - 1


def read(db: Database, settings: ReadSettings) -> Catalog:
    schema = db.default_schema
    if schema is None:
        raise ProbeError("config", "the MySQL DSN names no database (mysql+pymysql://…/DBNAME)")
    cat = Catalog("mysql", [schema])
    rows = db.select(
        "SELECT TABLE_NAME AS t, AUTO_INCREMENT AS ai FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME LIMIT %s",
        (schema, settings.max_tables + 1),
    )
    cat.truncated = len(rows) > settings.max_tables
    tables: dict[str, Table] = {}
    next_value: dict[str, int] = {}
    for row in rows[: settings.max_tables]:
        name = as_str(row["t"])
        tables[name] = Table(name, schema)
        if row["ai"] is not None:
            next_value[name] = int(row["ai"])
    cat.tables = list(tables.values())
    _columns(db, schema, tables, next_value)
    _indexes(db, schema, tables)
    _foreign_keys(db, schema, tables)
    cat.connections = _connections(db)
    return cat


def _columns(
    db: Database, schema: str, tables: dict[str, Table], next_value: dict[str, int]
) -> None:
    for row in db.select(
        "SELECT TABLE_NAME AS t, COLUMN_NAME AS c, COLUMN_TYPE AS ty, EXTRA AS ex, "
        "GENERATION_EXPRESSION AS gen "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
        "ORDER BY TABLE_NAME, ORDINAL_POSITION",
        (schema,),
    ):
        table = tables.get(as_str(row["t"]))
        if table is None:
            continue
        kind = _type(as_str(row["ty"]))
        auto = "auto_increment" in as_str(row["ex"]).lower()
        name = as_str(row["c"])
        table.columns.append(Column(name, kind, auto, as_str(row["gen"]) or None))
        limit = int_limit(kind)
        if auto and limit is not None and table.name in next_value:
            table.counters.append(Counter(name, next_value[table.name] - 1, limit))


def _indexes(db: Database, schema: str, tables: dict[str, Table]) -> None:
    found: dict[tuple[str, str], Index] = {}
    for row in db.select(
        "SELECT TABLE_NAME AS t, INDEX_NAME AS i, NON_UNIQUE AS nu, COLUMN_NAME AS c, "
        "INDEX_TYPE AS ty FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
        "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        (schema,),
    ):
        table = tables.get(as_str(row["t"]))
        if table is None:
            continue
        name = as_str(row["i"])
        ix = found.get((table.name, name))
        if ix is None:
            ix = Index(
                name,
                [],
                unique=int(row["nu"]) == 0,
                primary=name == "PRIMARY",
                method=as_str(row["ty"]).lower() or None,
            )
            found[(table.name, name)] = ix
            table.indexes.append(ix)
        # the expression text is not in MariaDB's catalog: name it by its index, so two
        # different expressions never look like a duplicate
        ix.columns.append(as_str(row["c"]) or f"(expression in {name})")
    for table in tables.values():
        for ix in table.indexes:
            if ix.primary:
                table.primary_key = list(ix.columns)


def _foreign_keys(db: Database, schema: str, tables: dict[str, Table]) -> None:
    found: dict[tuple[str, str], ForeignKey] = {}
    for row in db.select(
        "SELECT TABLE_NAME AS t, CONSTRAINT_NAME AS n, COLUMN_NAME AS c, "
        "REFERENCED_TABLE_NAME AS r FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL "
        "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        (schema,),
    ):
        table = tables.get(as_str(row["t"]))
        if table is None:
            continue
        key = (table.name, as_str(row["n"]))
        fk = found.get(key)
        if fk is None:
            fk = ForeignKey(key[1], [], as_str(row["r"]))
            found[key] = fk
            table.foreign_keys.append(fk)
        fk.columns.append(as_str(row["c"]))


def _connections(db: Database) -> Connections | None:
    status = db.select("SHOW GLOBAL STATUS LIKE 'Threads_connected'")
    limit = db.select("SELECT @@max_connections AS m")
    if not status or not limit:
        return None
    return Connections(int(as_str(status[0]["value"])), int(limit[0]["m"]))
