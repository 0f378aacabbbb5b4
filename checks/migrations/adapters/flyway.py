"""Flyway: ``flyway_schema_history``; ``success = false`` rows mark failed versions
(only where DDL is not transactional, e.g. MySQL)."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, applied, as_bool, as_text


class FlywayAdapter(Adapter):
    name = "flyway"
    required = frozenset({"installed_rank", "version", "script", "checksum", "success"})
    table = "flyway_schema_history"

    def locate(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        found = super().locate(db, settings)
        if found is None and not settings.table:
            old = db.find_table("schema_version", self.schemas(settings))  # Flyway < 5
            if old is not None and "installed_rank" in db.columns(old):
                return old
        return found

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        columns = "installed_rank, version, type, script, checksum, success, installed_on"
        rows = ledger_rows(db, ref, columns, "installed_rank")
        latest: dict[str, AppliedMigration] = {}
        baseline = None
        for r in rows:
            kind = str(as_text(r["type"]) or "").upper()
            version = as_text(r["version"])
            ident = version if version is not None else str(as_text(r["script"]))
            if kind == "DELETE":  # `repair` flagged the version's earlier row as deleted
                latest.pop(ident, None)
                continue
            if "BASELINE" in kind:
                baseline = ident
            latest.pop(ident, None)  # keep installed_rank order of the latest row per id
            latest[ident] = applied(
                ident,
                "applied" if as_bool(r["success"]) else "failed",
                r["checksum"],
                r["installed_on"],
            )
        return Ledger(self.name, str(ref), list(latest.values()), baseline=baseline)
