"""Sequelize (umzug SequelizeStorage): ``"SequelizeMeta"(name)``, read with SQL because
the library's ``executed()`` runs ``sync()`` (CREATE TABLE)."""

from __future__ import annotations

from typing import Any

from checks.migrations.adapters.base import Adapter
from checks.migrations.model import AppliedMigration, as_text


class SequelizeAdapter(Adapter):
    name = "sequelize"
    table = "SequelizeMeta"
    columns = "name"
    order = "name"

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        return AppliedMigration(str(as_text(row["name"])))
