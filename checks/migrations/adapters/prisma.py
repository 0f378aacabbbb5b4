"""Prisma: ``_prisma_migrations``; a row with neither ``finished_at`` nor ``rolled_back_at``
is a failed migration once it is older than a grace (a young one may still be running)."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, as_datetime, as_text


class PrismaAdapter(Adapter):
    name = "prisma"
    table = "_prisma_migrations"

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = db.select(
            "SELECT migration_name, checksum, started_at, finished_at, rolled_back_at "
            f"FROM {db.qualified(ref)} ORDER BY started_at"
        )
        entries = []
        for r in rows:
            if r["rolled_back_at"] is not None:
                continue  # resolved as rolled back: ignored by `migrate deploy`
            state = "applied" if r["finished_at"] is not None else "unfinished"
            entries.append(
                AppliedMigration(
                    str(as_text(r["migration_name"])),
                    state,
                    as_text(r["checksum"]),
                    as_datetime(r["started_at"]),
                )
            )
        return Ledger(self.name, str(ref), entries)
