"""Knex: ``knex_migrations(name, batch)`` and ``knex_migrations_lock(is_locked)``; the lock
row has no timestamp, so the check carries "held since" forward from its previous run."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings
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
        rows = db.select(f"SELECT name, migration_time FROM {db.qualified(ref)} ORDER BY id")
        entries = [
            AppliedMigration(str(as_text(r["name"])), at=as_datetime(r["migration_time"]))
            for r in rows
        ]
        locks = []
        lock_ref = db.find_table(ref.name + "_lock", [ref.schema])
        if lock_ref is not None:
            for r in db.select(f"SELECT is_locked FROM {db.qualified(lock_ref)}"):
                locks.append(LockState(lock_ref.name, as_bool(r["is_locked"]), None))
        return Ledger(self.name, str(ref), entries, locks=locks)
