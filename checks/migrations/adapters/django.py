"""Django: ``django_migrations(app, name)``; a row exists only once a migration succeeded."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, as_datetime


class DjangoAdapter(Adapter):
    name = "django"
    table = "django_migrations"

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = ledger_rows(db, ref, "app, name, applied", "id")
        # ids as "<app>.<name>", the form `manage.py showmigrations --plan` prints
        return Ledger(
            self.name,
            str(ref),
            [
                AppliedMigration(f"{r['app']}.{r['name']}", at=as_datetime(r["applied"]))
                for r in rows
            ],
        )
