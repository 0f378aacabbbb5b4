"""Atlas: ``atlas_schema_revisions``; the last row with ``applied < total`` and without the
"resolved" type bit is a partially applied migration."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import Ledger, applied, as_text

_RESOLVED = 4


class AtlasAdapter(Adapter):
    name = "atlas"
    required = frozenset({"version", "applied", "total", "hash"})
    table = "atlas_schema_revisions"
    extra_schemas = ("atlas_schema_revisions",)

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        columns = "version, type, applied, total, hash, executed_at"
        rows = [
            r
            for r in ledger_rows(db, ref, columns, "version")
            if not str(as_text(r["version"])).startswith(".")
        ]
        entries = []
        for i, r in enumerate(rows):
            state = "applied"
            partial = int(r["applied"] or 0) < int(r["total"] or 0)
            if partial and not int(r["type"] or 0) & _RESOLVED and i == len(rows) - 1:
                state = "partial"
            entries.append(applied(str(as_text(r["version"])), state, r["hash"], r["executed_at"]))
        return Ledger(self.name, str(ref), entries)
