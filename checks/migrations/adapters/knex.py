"""Knex: ``knex_migrations(name, batch)`` and ``knex_migrations_lock(is_locked)``; the lock
row has no timestamp, so the check carries "held since" forward from its previous run."""

from __future__ import annotations

from typing import Any

from checks.migrations.adapters.base import Adapter, lock_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, LockState, as_bool, as_datetime, as_text


class KnexAdapter(Adapter):
    name = "knex"
    required = frozenset({"name", "batch", "migration_time"})
    table = "knex_migrations"
    columns = "name, migration_time"
    order = "id"

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        return AppliedMigration(str(as_text(row["name"])), at=as_datetime(row["migration_time"]))

    def locks(self, db: Database, ref: TableRef) -> list[LockState]:
        found = lock_rows(db, ref, "_lock", "is_locked")
        if found is None:
            return []
        lock_ref, rows = found
        return [LockState(lock_ref.name, as_bool(r["is_locked"]), None) for r in rows]
