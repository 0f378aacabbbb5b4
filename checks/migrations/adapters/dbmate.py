"""dbmate: ``schema_migrations(version)``; nothing is recorded for a failed migration."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, as_text


class DbmateAdapter(Adapter):
    name = "dbmate"
    table = "schema_migrations"

    def detect(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        ref = self.locate(db, settings)
        return ref if ref is not None and db.columns(ref) == {"version"} else None

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = ledger_rows(db, ref, "version", "version")
        return Ledger(
            self.name, str(ref), [AppliedMigration(str(as_text(r["version"]))) for r in rows]
        )
