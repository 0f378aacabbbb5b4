"""dbmate: ``schema_migrations(version)``; nothing is recorded for a failed migration."""

from __future__ import annotations

from checks.migrations.adapters.base import LedgerSettings, VersionsAdapter
from checks.migrations.db import Database, TableRef


class DbmateAdapter(VersionsAdapter):
    name = "dbmate"
    required = frozenset({"version"})

    def detect(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        ref = self.locate(db, settings)
        return ref if ref is not None and db.columns(ref) == {"version"} else None
