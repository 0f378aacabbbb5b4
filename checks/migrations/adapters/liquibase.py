"""Liquibase: ``DATABASECHANGELOG`` (id ``FILENAME::ID::AUTHOR``, EXECTYPE, MD5SUM) and the
``DATABASECHANGELOGLOCK`` row a crashed run leaves locked."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings
from checks.migrations.db import Database, TableRef
from checks.migrations.model import (
    AppliedMigration,
    Ledger,
    LockState,
    as_bool,
    as_datetime,
    as_text,
)

_STATES = {"EXECUTED": "applied", "RERAN": "applied", "MARK_RAN": "applied", "FAILED": "failed"}


class LiquibaseAdapter(Adapter):
    name = "liquibase"
    table = "databasechangelog"

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = db.select(
            "SELECT id, author, filename, exectype, md5sum, dateexecuted "
            f"FROM {db.qualified(ref)} ORDER BY orderexecuted"
        )
        entries = []
        for r in rows:
            ident = f"{as_text(r['filename'])}::{as_text(r['id'])}::{as_text(r['author'])}"
            state = _STATES.get(str(as_text(r["exectype"]) or "").upper(), "skipped")
            entries.append(
                AppliedMigration(ident, state, as_text(r["md5sum"]), as_datetime(r["dateexecuted"]))
            )
        locks = []
        lock_ref = db.find_table(ref.name + "lock", [ref.schema])
        if lock_ref is not None:
            for r in db.select(f"SELECT id, locked, lockgranted FROM {db.qualified(lock_ref)}"):
                locks.append(
                    LockState(
                        f"{lock_ref.name}#{r['id']}",
                        as_bool(r["locked"]),
                        as_datetime(r["lockgranted"]),
                    )
                )
        return Ledger(self.name, str(ref), entries, locks=locks)
