"""Atlas: ``atlas_schema_revisions``; the last row with ``applied < total`` and without the
"resolved" type bit is a partially applied migration."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, as_datetime, as_text

_RESOLVED = 4


class AtlasAdapter(Adapter):
    name = "atlas"
    table = "atlas_schema_revisions"
    extra_schemas = ("atlas_schema_revisions",)

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = db.select(
            "SELECT version, type, applied, total, hash, executed_at "
            f"FROM {db.qualified(ref)} ORDER BY version"
        )
        entries = []
        rows = [r for r in rows if not str(as_text(r["version"])).startswith(".")]
        for i, r in enumerate(rows):
            state = "applied"
            partial = int(r["applied"] or 0) < int(r["total"] or 0)
            if partial and not int(r["type"] or 0) & _RESOLVED and i == len(rows) - 1:
                state = "partial"
            entries.append(
                AppliedMigration(
                    str(as_text(r["version"])),
                    state,
                    as_text(r["hash"]),
                    as_datetime(r["executed_at"]),
                )
            )
        return Ledger(self.name, str(ref), entries)
