"""sqitch: the registry's ``changes`` (deployed now) and ``events``; a change whose latest
event is ``fail`` failed its last deploy."""

from __future__ import annotations

from checks.migrations.adapters.base import Adapter, LedgerSettings
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, applied, as_text


class SqitchAdapter(Adapter):
    name = "sqitch"
    required = frozenset({"change_id", "change", "project", "script_hash"})
    table = "changes"
    extra_schemas = ("sqitch",)

    def detect(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        ref = self.locate(db, settings)
        if ref is None or db.find_table("events", [ref.schema]) is None:
            return None
        return ref if {"change_id", "script_hash"} <= db.columns(ref) else None

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        where = ""
        params: tuple[str, ...] = ()
        if settings.project:
            where, params = " WHERE project = %s", (settings.project,)
        rows = db.select(
            f"SELECT change_id, {db.quote('change')} AS name, script_hash, committed_at "
            f"FROM {db.qualified(ref)}{where} ORDER BY committed_at",
            params,
        )
        # a reworked change is deployed under its name twice (two change ids): entries are
        # one per deployed change, and the change ids are kept to compare what sqitch compares
        entries = [
            applied(str(as_text(r["name"])), "applied", r["script_hash"], r["committed_at"])
            for r in rows
        ]
        change_ids = [str(as_text(r["change_id"])) for r in rows]
        events_ref = db.find_table("events", [ref.schema])
        if events_ref is not None:
            events = db.select(
                f"SELECT event, {db.quote('change')} AS name, committed_at "
                f"FROM {db.qualified(events_ref)}{where} ORDER BY committed_at",
                params,
            )
            last: dict[str, str] = {}
            for e in events:
                last[str(as_text(e["name"]))] = str(as_text(e["event"]))
            deployed = {m.id for m in entries}
            for name, event in last.items():
                if event == "fail" and name not in deployed:
                    entries.append(AppliedMigration(name, "failed"))
        ledger = Ledger(self.name, str(ref), entries)
        ledger.notes["change_ids"] = change_ids
        return ledger
