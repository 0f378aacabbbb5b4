"""The dashboard's view of pushed evidence: the stored report of an item, served back as it
was pushed (the service page links here; the API serves the same to tokens). Registered on
the dashboard blueprint by ``web.dashboard``."""

from __future__ import annotations

from flask import abort, current_app
from flask.typing import ResponseReturnValue

from auditor.store.errors import NotFound
from auditor.store.evidence import get_evidence, service_id_named
from web.auth import login_required
from web.context import get_store

#: how a stored report is served: a download, never rendered as a page of ours
MEDIA = {"junit-xml": "application/xml", "wrk": "text/plain", "locust-csv": "text/csv",
         "jmeter-jtl": "text/csv"}  # fmt: skip


@login_required("viewer")
def evidence_report(name: str, evidence_id: str) -> ResponseReturnValue:
    svc_id = service_id_named(get_store(), name)
    if svc_id is None or len(evidence_id) > 36:
        abort(404, description="No such service or report.")
    try:
        row = get_evidence(get_store(), svc_id, evidence_id)
    except NotFound:
        abort(404, description="No such report (it may be older than the retention window).")
    media = MEDIA.get(row.format, "application/json")
    response = current_app.response_class(row.report, mimetype=media)
    response.headers["Content-Disposition"] = f'attachment; filename="evidence-{row.id[:8]}.txt"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
