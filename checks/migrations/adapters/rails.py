"""Rails/ActiveRecord: ``schema_migrations(version)`` plus ``ar_internal_metadata``, whose
``environment`` key names the environment that last migrated."""

from __future__ import annotations

from checks.migrations.adapters.base import LedgerSettings, VersionsAdapter
from checks.migrations.db import Database, TableRef
from checks.migrations.model import Ledger, as_text


class RailsAdapter(VersionsAdapter):
    name = "rails"
    required = frozenset({"version"})

    def detect(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        ref = self.locate(db, settings)
        if ref is None or "dirty" in db.columns(ref):
            return None
        meta = db.find_table("ar_internal_metadata", [ref.schema])
        return ref if meta is not None else None

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        ledger = super().read(db, ref, settings)
        meta = db.find_table("ar_internal_metadata", [ref.schema])
        if meta is not None:
            env = db.select(
                f"SELECT value FROM {db.qualified(meta)} WHERE {db.quote('key')} = %s",
                ("environment",),
            )
            if env:
                ledger.notes["environment"] = as_text(env[0]["value"])
        return ledger
