"""Sequelize (umzug SequelizeStorage): ``"SequelizeMeta"(name)``, read with SQL because
the library's ``executed()`` runs ``sync()`` (CREATE TABLE)."""

from __future__ import annotations

from typing import Any

from checks.migrations.adapters.base import Adapter
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, as_text


class SequelizeAdapter(Adapter):
    name = "sequelize"
    required = frozenset({"name"})
    table = "SequelizeMeta"
    columns = "name"
    order = "name"

    def has_shape(self, db: Database, ref: TableRef) -> bool:
        # only ``name``: a Knex or Django ledger has it too, plus columns this one lacks
        return db.columns(ref) == self.required

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        return AppliedMigration(str(as_text(row["name"])))
