"""SQLite catalog reader: the ``pragma_*`` table functions over ``sqlite_master``.

Declared types are kept as written (lower-case); an ``INTEGER PRIMARY KEY`` is the 64-bit
rowid (counted as generated). SQLite has no server: no connections, counters or statement
statistics.
"""

from __future__ import annotations

import re

from checks.migrations.db import Database
from checks.schema.engines.common import ReadSettings, as_str
from checks.schema.model import Catalog, Column, ForeignKey, Index, Table

_WHERE = re.compile(r"\bwhere\b(.*)$", re.IGNORECASE | re.DOTALL)


def read(db: Database, settings: ReadSettings) -> Catalog:
    rows = db.select(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name LIMIT %s",
        (settings.max_tables + 1,),
    )
    cat = Catalog("sqlite", ["main"], truncated=len(rows) > settings.max_tables)
    for row in rows[: settings.max_tables]:
        cat.tables.append(_table(db, as_str(row["name"])))
    return cat


def _table(db: Database, name: str) -> Table:
    table = Table(name)
    info = db.select("SELECT name, type, pk FROM pragma_table_info(%s) ORDER BY cid", (name,))
    pk = sorted((int(r["pk"]), as_str(r["name"])) for r in info if int(r["pk"]) > 0)
    table.primary_key = [col for _, col in pk]
    for row in info:
        kind = as_str(row["type"]).strip().lower()
        rowid = len(pk) == 1 and int(row["pk"]) == 1 and kind == "integer"
        table.columns.append(Column(as_str(row["name"]), kind, rowid))
    sources = {
        as_str(r["name"]): as_str(r["sql"])
        for r in db.select(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", (name,)
        )
    }
    for row in db.select(
        'SELECT name, "unique" AS uniq, origin, partial FROM pragma_index_list(%s)', (name,)
    ):
        ix_name = as_str(row["name"])
        cols = [
            as_str(c["name"]) or f"(expression in {ix_name})"  # never a false duplicate
            for c in db.select(
                "SELECT name FROM pragma_index_xinfo(%s) WHERE key = 1 ORDER BY seqno", (ix_name,)
            )
        ]
        predicate = None
        if int(row["partial"]):
            match = _WHERE.search(sources.get(ix_name, ""))
            predicate = match.group(1).strip() if match else "(partial)"
        table.indexes.append(
            Index(
                ix_name,
                cols,
                unique=bool(int(row["uniq"])),
                primary=as_str(row["origin"]) == "pk",
                predicate=predicate,
                method="btree",
            )
        )
    fks: dict[int, ForeignKey] = {}
    for row in db.select(
        'SELECT id, "table" AS ref, "from" AS col FROM pragma_foreign_key_list(%s) '
        "ORDER BY id, seq",
        (name,),
    ):
        fk = fks.setdefault(
            int(row["id"]), ForeignKey(f"fk_{name}_{row['id']}", [], as_str(row["ref"]))
        )
        fk.columns.append(as_str(row["col"]))
    table.foreign_keys = list(fks.values())
    return table
