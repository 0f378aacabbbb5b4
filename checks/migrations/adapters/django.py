"""Django: ``django_migrations(app, name)``; a row exists only once a migration succeeded."""

from __future__ import annotations

from typing import Any

from checks.migrations.adapters.base import Adapter
from checks.migrations.model import AppliedMigration, as_datetime


class DjangoAdapter(Adapter):
    name = "django"
    required = frozenset({"app", "name", "applied"})
    table = "django_migrations"
    columns = "app, name, applied"
    order = "id"

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        # ids as "<app>.<name>", the form `manage.py showmigrations --plan` prints
        return AppliedMigration(f"{row['app']}.{row['name']}", at=as_datetime(row["applied"]))
