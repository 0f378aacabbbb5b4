"""Rails/ActiveRecord: ``schema_migrations(version)`` plus ``ar_internal_metadata``, whose
``environment`` key names the environment that last migrated."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, as_text


class RailsAdapter(Adapter):
    name = "rails"
    table = "schema_migrations"

    def detect(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        ref = self.locate(db, settings)
        if ref is None or "dirty" in db.columns(ref):
            return None
        meta = db.find_table("ar_internal_metadata", [ref.schema])
        return ref if meta is not None else None

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = ledger_rows(db, ref, "version", "version")
        notes = {}
        meta = db.find_table("ar_internal_metadata", [ref.schema])
        if meta is not None:
            env = db.select(
                f"SELECT value FROM {db.qualified(meta)} WHERE {db.quote('key')} = %s",
                ("environment",),
            )
            if env:
                notes["environment"] = as_text(env[0]["value"])
        entries = [AppliedMigration(str(as_text(r["version"]))) for r in rows]
        return Ledger(self.name, str(ref), entries, notes=notes)
