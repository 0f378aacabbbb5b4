"""Sequelize (umzug SequelizeStorage): ``"SequelizeMeta"(name)``, read with SQL because
the library's ``executed()`` runs ``sync()`` (CREATE TABLE)."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, as_text


class SequelizeAdapter(Adapter):
    name = "sequelize"
    table = "SequelizeMeta"

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = ledger_rows(db, ref, "name", "name")
        return Ledger(
            self.name, str(ref), [AppliedMigration(str(as_text(r["name"]))) for r in rows]
        )
