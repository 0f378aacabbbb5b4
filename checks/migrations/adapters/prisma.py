"""Prisma: ``_prisma_migrations``; a row with neither ``finished_at`` nor ``rolled_back_at``
is a failed migration once it is older than a grace (a young one may still be running)."""

from __future__ import annotations

from typing import Any

from checks.migrations.adapters.base import Adapter
from checks.migrations.model import AppliedMigration, applied, as_text


class PrismaAdapter(Adapter):
    name = "prisma"
    required = frozenset({"migration_name", "finished_at", "rolled_back_at"})
    table = "_prisma_migrations"
    columns = "migration_name, checksum, started_at, finished_at, rolled_back_at"
    order = "started_at"

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        if row["rolled_back_at"] is not None:
            return None  # resolved as rolled back: ignored by `migrate deploy`
        state = "applied" if row["finished_at"] is not None else "unfinished"
        return applied(
            str(as_text(row["migration_name"])), state, row["checksum"], row["started_at"]
        )
