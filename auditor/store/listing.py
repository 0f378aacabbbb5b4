"""Paged, sorted, filtered lists of one model: what every list endpoint of the API asks for.

A caller names its filters as :class:`Criterion` values (field, operation, value) instead
of building statements, so the SQL stays here; the id breaks sort ties so pages are stable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from auditor.store.db import Database
from auditor.store.models import Check, CheckState, Service, Waiver, utcnow


@dataclass(frozen=True)
class Criterion:
    """One filter: ``field op value``; ``op`` is ``eq``, ``ge``, ``lt``, ``set`` (the field is
    not null when value is true) or a named predicate of :data:`PREDICATES`."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Listing:
    """One page of rows and how many rows match in all."""

    rows: list[Any]
    total: int


def _service_has_state(model: Any, value: Any) -> Any:
    sub = (
        select(CheckState.check_id)
        .join(Check, col(Check.id) == col(CheckState.check_id))
        .where(
            col(CheckState.service_id) == col(Service.id),
            col(CheckState.state) == value,
            col(Check.deleted_at).is_(None),
        )
    )
    return sa.exists(sub)


def _check_in_state(model: Any, value: Any) -> Any:
    sub = select(CheckState.check_id).where(
        col(CheckState.check_id) == col(Check.id), col(CheckState.state) == value
    )
    if value == "unknown":
        none = ~sa.exists(
            select(CheckState.check_id).where(col(CheckState.check_id) == col(Check.id))
        )
        return sa.or_(sa.exists(sub), none)
    return sa.exists(sub)


def _waiver_active(model: Any, value: Any) -> Any:
    live = (col(Waiver.deleted_at).is_(None)) & (col(Waiver.expires_at) > utcnow())
    return live if value else ~live


# predicates a list can name besides the plain comparisons: (model, value) -> condition
PREDICATES: dict[str, Callable[[Any, Any], Any]] = {
    "service_has_state": _service_has_state,
    "check_in_state": _check_in_state,
    "waiver_active": _waiver_active,
}


def _condition(model: Any, c: Criterion) -> Any:
    if c.op in PREDICATES:
        return PREDICATES[c.op](model, c.value)
    column = col(getattr(model, c.field))
    if c.op == "eq":
        return column == c.value
    if c.op == "ge":
        return column >= c.value
    if c.op == "lt":
        return column < c.value
    if c.op == "set":
        return column.is_not(None) if c.value else column.is_(None)
    raise ValueError(f"unknown filter operation {c.op!r}")


def list_rows(
    db: Database,
    model: Any,
    criteria: Sequence[Criterion],
    *,
    sort: str,
    offset: int,
    limit: int,
    live_only: bool = False,
) -> Listing:
    """Rows of ``model`` matching every criterion, sorted by ``sort`` (``-`` for descending)
    then id; ``live_only`` leaves out soft-deleted rows."""
    stmt: Any = select(model)
    if live_only:
        stmt = stmt.where(col(model.deleted_at).is_(None))
    for c in criteria:
        stmt = stmt.where(_condition(model, c))
    descending = sort.startswith("-")
    column = col(getattr(model, sort.lstrip("-")))
    tiebreak = col(model.id)
    order = [column.desc(), tiebreak.desc()] if descending else [column.asc(), tiebreak.asc()]
    with db.read() as s:
        total = int(s.exec(select(sa.func.count()).select_from(stmt.subquery())).one())
        rows = list(s.exec(stmt.order_by(*order).offset(offset).limit(limit)).all())
    return Listing(rows, total)


def get_row(db: Database, model: Any, row_id: str) -> Any:
    """The row of ``model`` with this primary key, or None (deleted rows included)."""
    with db.read() as s:
        return s.get(model, row_id)
