"""The common shape every adapter normalises its ledger rows into.

Only ids, checksums, states and timestamps are kept: error/log columns (Prisma ``logs``,
Atlas ``error``) can hold data values, so adapters reduce them to a state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: row states: applied, failed, dirty, partial, unfinished (Prisma, judged with a grace), skipped
STATES = ("applied", "failed", "dirty", "partial", "unfinished", "skipped")


@dataclass
class AppliedMigration:
    """One ledger entry, normalised."""

    id: str
    state: str = "applied"
    checksum: str | None = None
    at: datetime | None = None


@dataclass
class LockState:
    """A migration lock row (Liquibase, Knex): held or not, and since when if recorded."""

    name: str
    held: bool
    since: datetime | None = None
    #: seconds held by the database's own clock, where the tool records local wall time
    #: with no zone (Liquibase): reading that as UTC is off by the time-zone offset
    age_s: float | None = None


@dataclass
class Ledger:
    """What the ledger says. ``cumulative`` ledgers hold pointers (Alembic heads,
    golang-migrate's single version) that imply every earlier id as applied."""

    tool: str
    table: str
    rows: list[AppliedMigration] = field(default_factory=list)
    cumulative: bool = False
    baseline: str | None = None
    locks: list[LockState] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def to_facts(self) -> dict[str, Any]:
        """JSON facts: ids per state, recorded checksums, locks; never error text."""
        applied: list[str] = []
        by_state: dict[str, list[str]] = {s: [] for s in STATES if s != "applied"}
        unfinished: list[dict[str, Any]] = []
        checksums: dict[str, str] = {}
        repeated: dict[str, int] = {}
        for row in self.rows:
            if row.state == "applied":
                if row.id not in applied:
                    applied.append(row.id)
                else:  # a reworked sqitch change: one name, two deployed changes
                    repeated[row.id] = repeated.get(row.id, 1) + 1
                if row.checksum is not None:
                    checksums[row.id] = row.checksum
            elif row.state == "unfinished":
                unfinished.append({"id": row.id, "started_at": iso(row.at)})
            elif row.id not in by_state[row.state]:
                by_state[row.state].append(row.id)
        return {
            "tool": self.tool,
            "table": self.table,
            "cumulative": self.cumulative,
            "baseline": self.baseline,
            "applied": applied,
            "applied_count": len(applied),
            "repeated": repeated,
            "failed": by_state["failed"],
            "dirty": by_state["dirty"],
            "partial": by_state["partial"],
            "skipped": by_state["skipped"],
            "unfinished": unfinished,
            "checksums": checksums,
            "locks": [
                {"name": lk.name, "held": lk.held, "since": iso(lk.since), "age_s": lk.age_s}
                for lk in self.locks
            ],
            "notes": self.notes,
        }


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_bool(value: Any) -> bool:
    """Booleans as drivers return them: bool, 0/1, b'\\x01' (MySQL BIT), 't'/'true'."""
    if isinstance(value, bytes | bytearray):
        return any(value)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "y", "yes")
    return bool(value)


def as_datetime(value: Any) -> datetime | None:
    """Timestamps as drivers return them; naive values are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, int | float):
        seconds = float(value) / 1000.0 if value > 1e11 else float(value)
        return datetime.fromtimestamp(seconds, UTC)
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return as_datetime(int(text))
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", errors="replace")
    return str(value)


def applied(ident: str, state: str, checksum: Any, at: Any) -> AppliedMigration:
    """An entry from a ledger row's raw driver values (checksum as text, time as UTC)."""
    return AppliedMigration(ident, state, as_text(checksum), as_datetime(at))
