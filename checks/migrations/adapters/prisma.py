"""Prisma: ``_prisma_migrations``; a row with neither ``finished_at`` nor ``rolled_back_at``
is a failed migration once it is older than a grace (a young one may still be running)."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import Ledger, applied, as_text


class PrismaAdapter(Adapter):
    name = "prisma"
    table = "_prisma_migrations"

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        columns = "migration_name, checksum, started_at, finished_at, rolled_back_at"
        entries = [
            applied(
                str(as_text(r["migration_name"])),
                "applied" if r["finished_at"] is not None else "unfinished",
                r["checksum"],
                r["started_at"],
            )
            for r in ledger_rows(db, ref, columns, "started_at")
            # a row resolved as rolled back is ignored by `migrate deploy`
            if r["rolled_back_at"] is None
        ]
        return Ledger(self.name, str(ref), entries)
