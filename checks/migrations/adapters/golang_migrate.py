"""golang-migrate: ``schema_migrations(version, dirty)`` holds one row, the current version;
``dirty`` stays true when a migration failed or crashed mid-way."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, as_bool, as_text


class GolangMigrateAdapter(Adapter):
    name = "golang-migrate"
    required = frozenset({"version", "dirty"})
    table = "schema_migrations"

    def detect(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        ref = self.locate(db, settings)
        return ref if ref is not None and "dirty" in db.columns(ref) else None

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = db.select(f"SELECT version, dirty FROM {db.qualified(ref)}")
        entries = [
            AppliedMigration(
                str(as_text(r["version"])), "dirty" if as_bool(r["dirty"]) else "applied"
            )
            for r in rows
        ]
        return Ledger(self.name, str(ref), entries, cumulative=True)
