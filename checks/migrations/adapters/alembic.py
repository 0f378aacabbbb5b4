"""Alembic: ``alembic_version`` holds only the current head(s), no history, no failure flag."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, as_text


class AlembicAdapter(Adapter):
    name = "alembic"
    required = frozenset({"version_num"})
    table = "alembic_version"

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = db.select(f"SELECT version_num FROM {db.qualified(ref)}")
        heads = sorted(str(as_text(r["version_num"])) for r in rows)
        return Ledger(self.name, str(ref), [AppliedMigration(h) for h in heads], cumulative=True)
