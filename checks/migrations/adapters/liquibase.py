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
    table = "databasechangelog"
    columns = "id, author, filename, exectype, md5sum, dateexecuted"
    order = "orderexecuted"

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        ident = f"{as_text(row['filename'])}::{as_text(row['id'])}::{as_text(row['author'])}"
        state = _STATES.get(str(as_text(row["exectype"]) or "").upper(), "skipped")
        return applied(ident, state, row["md5sum"], row["dateexecuted"])

    def locks(self, db: Database, ref: TableRef) -> list[LockState]:
        found = lock_rows(db, ref, "lock", "id, locked, lockgranted")
        if found is None:
            return []
        lock_ref, rows = found
        return [
            LockState(
                f"{lock_ref.name}#{r['id']}", as_bool(r["locked"]), as_datetime(r["lockgranted"])
            )
            for r in rows
        ]
