"""Liquibase: ``DATABASECHANGELOG`` (id ``FILENAME::ID::AUTHOR``, EXECTYPE, MD5SUM) and the
``DATABASECHANGELOGLOCK`` row a crashed run leaves locked."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings, ledger_rows, lock_rows
from checks.migrations.db import Database, TableRef
from checks.migrations.model import Ledger, LockState, applied, as_bool, as_datetime, as_text

_STATES = {"EXECUTED": "applied", "RERAN": "applied", "MARK_RAN": "applied", "FAILED": "failed"}


class LiquibaseAdapter(Adapter):
    name = "liquibase"
    table = "databasechangelog"

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        columns = "id, author, filename, exectype, md5sum, dateexecuted"
        entries = [
            applied(
                f"{as_text(r['filename'])}::{as_text(r['id'])}::{as_text(r['author'])}",
                _STATES.get(str(as_text(r["exectype"]) or "").upper(), "skipped"),
                r["md5sum"],
                r["dateexecuted"],
            )
            for r in ledger_rows(db, ref, columns, "orderexecuted")
        ]
        locks = []
        found = lock_rows(db, ref, "lock", "id, locked, lockgranted")
        if found is not None:
            lock_ref, rows = found
            locks = [
                LockState(
                    f"{lock_ref.name}#{r['id']}",
                    as_bool(r["locked"]),
                    as_datetime(r["lockgranted"]),
                )
                for r in rows
            ]
        return Ledger(self.name, str(ref), entries, locks=locks)
