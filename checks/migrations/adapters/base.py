"""What a migration-tool adapter is: where its ledger lives and how to read it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from checks.base import ProbeError
from checks.migrations.db import Database, TableRef
from checks.migrations.model import AppliedMigration, Ledger, LockState, as_text


@dataclass(frozen=True)
class LedgerSettings:
    """Per-check knobs an adapter may use: table/schema overrides and the sqitch project."""

    table: str | None = None
    schema: str | None = None
    project: str | None = None


class Adapter:
    """Default behaviour: one ledger table found by name in the configured/default schema,
    read as ``columns`` in ``order``, one :meth:`entry` per row, plus any :meth:`locks`."""

    name: str = ""
    table: str = ""
    columns: str = ""
    order: str = ""
    #: extra schemas some tools default to (Atlas, sqitch) after the configured one
    extra_schemas: Sequence[str] = ()
    #: lower-case columns the tool's ledger table always has: detection goes by this shape,
    #: so with a custom table name no adapter claims (and queries) another tool's table
    required: frozenset[str] = frozenset()

    def schemas(self, settings: LedgerSettings) -> list[str | None]:
        if settings.schema:
            return [settings.schema]
        return [None, *self.extra_schemas]

    def locate(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        return db.find_table(settings.table or self.table, self.schemas(settings))

    def detect(self, db: Database, settings: LedgerSettings) -> TableRef | None:
        """The ledger table if this database looks like it is managed by this tool."""
        ref = self.locate(db, settings)
        return ref if ref is not None and self.has_shape(db, ref) else None

    def has_shape(self, db: Database, ref: TableRef) -> bool:
        return self.required <= db.columns(ref)

    def check_shape(self, db: Database, ref: TableRef) -> None:
        """For an explicitly chosen tool: a table of another shape is a config error, named."""
        missing = sorted(self.required - db.columns(ref))
        if missing:
            raise ProbeError(
                "config",
                f"table {ref} is not a {self.name} ledger (no column {', '.join(missing)}); "
                "check tool and table",
            )

    def read(self, db: Database, ref: TableRef, settings: LedgerSettings) -> Ledger:
        rows = ledger_rows(db, ref, self.columns, self.order)
        entries = [e for e in map(self.entry, rows) if e is not None]
        return Ledger(self.name, str(ref), entries, locks=self.locks(db, ref))

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        """One ledger row as an entry (None: the tool ignores this row)."""
        raise NotImplementedError

    def locks(self, db: Database, ref: TableRef) -> list[LockState]:
        """Lock rows a crashed run may have left (none for most tools)."""
        return []


def ledger_rows(db: Database, ref: TableRef, columns: str, order: str) -> list[dict[str, Any]]:
    """``columns`` of every row of the ledger table ``ref``, in ``order``."""
    return db.select(f"SELECT {columns} FROM {db.qualified(ref)} ORDER BY {order}")


def lock_rows(
    db: Database, ref: TableRef, suffix: str, columns: str
) -> tuple[TableRef, list[dict[str, Any]]] | None:
    """The lock table beside the ledger (its name plus ``suffix``) and its rows, if present."""
    lock_ref = db.find_table(ref.name + suffix, [ref.schema])
    if lock_ref is None:
        return None
    return lock_ref, db.select(f"SELECT {columns} FROM {db.qualified(lock_ref)}")


class VersionsAdapter(Adapter):
    """A ``schema_migrations(version)`` ledger (Rails, dbmate): a row per applied version."""

    table = "schema_migrations"
    columns = "version"
    order = "version"

    def entry(self, row: dict[str, Any]) -> AppliedMigration | None:
        return AppliedMigration(str(as_text(row["version"])))
