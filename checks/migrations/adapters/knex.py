"""Knex: ``knex_migrations(name, batch)`` and ``knex_migrations_lock(is_locked)``; the lock
row has no timestamp, so the check carries "held since" forward from its previous run."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows, lock_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import (
    AppliedMigration,
    Ledger,
    LockState,
    as_bool,
    as_datetime,
    as_text,
)


class KnexAdapter(Adapter):
    name = "knex"
    table = "knex_migrations"

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        entries = [
            AppliedMigration(str(as_text(r["name"])), at=as_datetime(r["migration_time"]))
            for r in ledger_rows(db, ref, "name, migration_time", "id")
        ]
        locks = []
        found = lock_rows(db, ref, "_lock", "is_locked")
        if found is not None:
            lock_ref, rows = found
            locks = [LockState(lock_ref.name, as_bool(r["is_locked"]), None) for r in rows]
        return Ledger(self.name, str(ref), entries, locks=locks)
