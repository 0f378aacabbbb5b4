"""List endpoints: the declared filters become store criteria; the rows go in the envelope."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Response

from auditor.store.listing import Criterion, Listing, list_rows
from web.api.envelope import ListSpec, Page, listing
from web.context import get_store


def fetch(
    model: Any,
    spec: ListSpec,
    page: Page,
    sort: str,
    filters: dict[str, Any],
    scope: Sequence[Criterion] = (),
) -> Listing:
    """One page of ``model``; ``include_deleted`` (when the spec declares it) keeps the
    soft-deleted rows, which are left out otherwise; ``scope`` narrows to a parent."""
    live_only = "include_deleted" in spec.filters and not filters.pop("include_deleted", False)
    criteria = [*scope]
    for name, value in filters.items():
        flt = spec.filters[name]
        criteria.append(Criterion(flt.field or name, flt.op, value))
    return list_rows(
        get_store(),
        model,
        criteria,
        sort=sort,
        offset=page.offset,
        limit=page.limit,
        live_only=live_only,
    )


def paginate(
    model: Any,
    spec: ListSpec,
    page: Page,
    sort: str,
    filters: dict[str, Any],
    serialize: Callable[[Any], dict[str, Any]],
    scope: Sequence[Criterion] = (),
) -> Response:
    found = fetch(model, spec, page, sort, filters, scope)
    return listing([serialize(r) for r in found.rows], page, found.total)
