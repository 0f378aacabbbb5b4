"""List queries: filters, stable sort (the id breaks ties) and pagination in the envelope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Response
from sqlmodel import Session, col, select

from web.api.envelope import ListSpec, Page, listing


def paginate(
    s: Session,
    stmt: Any,
    model: Any,
    spec: ListSpec,
    page: Page,
    sort: str,
    filters: dict[str, Any],
    serialize: Callable[[Any], dict[str, Any]],
    id_column: Any = None,
) -> Response:
    for name, value in filters.items():
        flt = spec.filters[name]
        if flt.apply is not None:
            stmt = flt.apply(stmt, value)
        elif flt.column is not None:
            stmt = stmt.where(flt.column == value)
    total = int(s.exec(select(sa.func.count()).select_from(stmt.subquery())).one())
    descending = sort.startswith("-")
    column = col(getattr(model, sort.lstrip("-")))
    tiebreak = col(id_column if id_column is not None else model.id)
    order = [column.desc(), tiebreak.desc()] if descending else [column.asc(), tiebreak.asc()]
    rows = s.exec(stmt.order_by(*order).offset(page.offset).limit(page.limit)).all()
    return listing([serialize(r) for r in rows], page, total)
