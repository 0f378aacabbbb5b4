"""Liquibase: ``DATABASECHANGELOG`` (id ``FILENAME::ID::AUTHOR``, EXECTYPE, MD5SUM) and the
``DATABASECHANGELOGLOCK`` row a crashed run leaves locked."""

from __future__ import annotations

from typing import Any

from checks.migrations.adapters.base import Adapter, lock_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import (
    AppliedMigration,
    LockState,
    applied,
    as_bool,
    as_datetime,
    as_text,
)

_STATES = {"EXECUTED": "applied", "RERAN": "applied", "MARK_RAN": "applied", "FAILED": "failed"}


class LiquibaseAdapter(Adapter):
    name = "liquibase"
    required = frozenset({"id", "author", "filename", "exectype", "orderexecuted"})
    table = "databasechangelog"
    columns = "id, author, filename, exectype, md5sum, dateexecuted"
    order = "orderexecuted"

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        ident = f"{as_text(row['filename'])}::{as_text(row['id'])}::{as_text(row['author'])}"
        state = _STATES.get(str(as_text(row["exectype"]) or "").upper(), "skipped")
        return applied(ident, state, row["md5sum"], row["dateexecuted"])

    def locks(self, db: Database, ref: TableRef) -> list[LockState]:
        # LOCKGRANTED is the JVM's local wall time with no zone: its age is measured against
        # the database's own local clock read in the same statement, not against UTC
        found = lock_rows(db, ref, "lock", f"id, locked, lockgranted, {_DB_NOW[db.dialect]}")
        if found is None:
            return []
        lock_ref, rows = found
        return [
            LockState(
                f"{lock_ref.name}#{r['id']}",
                as_bool(r["locked"]),
                as_datetime(r["lockgranted"]),
                _age_by_db_clock(r["lockgranted"], r["db_now"]),
            )
            for r in rows
        ]


#: the database's current local time, in the zone a naive timestamp column is written in
_DB_NOW = {
    "postgresql": "LOCALTIMESTAMP AS db_now",
    "mysql": "NOW(6) AS db_now",
    "sqlite": "datetime('now', 'localtime') AS db_now",
}


def _age_by_db_clock(granted: Any, db_now: Any) -> float | None:
    """Seconds from LOCKGRANTED to the database's now, both naive local times; None when
    the lock time is an epoch number (zone-free: the caller's UTC age is right) or absent."""
    if granted is None or isinstance(granted, int | float) or str(granted).strip().isdigit():
        return None
    at, now = as_datetime(granted), as_datetime(db_now)
    if at is None or now is None:
        return None
    return (now.replace(tzinfo=None) - at.replace(tzinfo=None)).total_seconds()
