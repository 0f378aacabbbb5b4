"""``/checks/{id}/runs``: run history with a time-range filter (soft-deleted checks keep it)."""

from __future__ import annotations

from typing import Any

from flask import Response

from auditor.store.check_admin import check_exists
from auditor.store.listing import Criterion
from auditor.store.models import Run
from auditor.store.secret_fields import redact_text, scrub_json
from web.api.blueprint import bp, route
from web.api.envelope import Filter, ListSpec, not_found, parse_list_args
from web.api.query import paginate
from web.api.schemas import RunOut
from web.context import get_store

LIST_SPEC = ListSpec(
    sort_fields=("started_at", "duration_ms", "created_at"),
    default_sort="-started_at",
    filters={
        "status": Filter("enum", ("pass", "warn", "fail", "error")),
        "since": Filter(
            "datetime",
            description="runs started at or after this time (RFC 3339)",
            field="started_at",
            op="ge",
        ),
        "until": Filter(
            "datetime",
            description="runs started before this time (RFC 3339)",
            field="started_at",
            op="lt",
        ),
    },
)


def run_json(run: Run) -> dict[str, Any]:
    data = run.model_dump()
    data["findings"] = [
        {k: redact_text(str(f.get(k, ""))) for k in ("code", "severity", "message")}
        for f in run.findings
    ]
    data["facts"] = scrub_json(data.get("facts") or {}, ())  # runs stored before redaction
    data["summary"] = redact_text(str(data.get("summary") or ""))
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
    if not check_exists(get_store(), check_id):
        raise not_found("check")
    scope = [Criterion("check_id", "eq", check_id)]
    return paginate(Run, LIST_SPEC, page, sort, filters, run_json, scope)
