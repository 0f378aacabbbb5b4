"""``/checks/{id}/runs``: run history with a time-range filter (soft-deleted checks keep it)."""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlmodel import col, select

from auditor.store.models import Check, Run
from web import get_store
from web.api import bp
from web.api.envelope import Filter, ListSpec, not_found, parse_list_args
from web.api.openapi import route
from web.api.query import paginate
from web.api.schemas import RunOut

LIST_SPEC = ListSpec(
    sort_fields=("started_at", "duration_ms", "created_at"),
    default_sort="-started_at",
    filters={
        "status": Filter("enum", ("pass", "warn", "fail", "error"), column=Run.status),
        "since": Filter(
            "datetime",
            description="runs started at or after this time (RFC 3339)",
            apply=lambda st, v: st.where(col(Run.started_at) >= v),
        ),
        "until": Filter(
            "datetime",
            description="runs started before this time (RFC 3339)",
            apply=lambda st, v: st.where(col(Run.started_at) < v),
        ),
    },
)


def run_json(run: Run) -> dict[str, Any]:
    data = run.model_dump()
    data["findings"] = [
        {k: str(f.get(k, "")) for k in ("code", "severity", "message")} for f in run.findings
    ]
    return RunOut.model_validate(data).model_dump(mode="json")


@route(
    bp,
    "/checks/{check_id}/runs",
    "GET",
    op_id="listRuns",
    summary="Run history of a check (newest first by default)",
    tag="checks",
    response=RunOut,
    many=True,
    list_spec=LIST_SPEC,
)
def list_runs(check_id: str) -> Response:
    page, sort, filters = parse_list_args(LIST_SPEC)
    with get_store().read() as s:
        if s.get(Check, check_id) is None:
            raise not_found("check")
        stmt = select(Run).where(col(Run.check_id) == check_id)
        return paginate(s, stmt, Run, LIST_SPEC, page, sort, filters, run_json)
