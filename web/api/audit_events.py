"""``GET /audit-events`` (admin only): the audit log, newest first, filtered and paged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response

from auditor.store import audit_log  # noqa: F401  (registers the "actor" filter)
from auditor.store.audit_models import AuditEvent
from web.api.blueprint import bp, route
from web.api.envelope import Filter, ListSpec, parse_list_args
from web.api.query import paginate
from web.api.schemas import Out

LIST_SPEC = ListSpec(
    sort_fields=("at",),
    default_sort="-at",
    filters={
        "action": Filter(description="e.g. service.update, token.create, login.failure"),
        "actor": Filter(
            description="the actor's id or name (username, token name)", op="audit_actor"
        ),
        "target_id": Filter(),
        "target_type": Filter(),
        "outcome": Filter("enum", ("success", "failure", "locked")),
        "since": Filter("datetime", field="at", op="ge", description="at or after this time"),
    },
)


class AuditEventOut(Out):
    id: str
    at: datetime
    actor_kind: str
    actor_id: str | None
    actor_name: str
    action: str
    target_type: str
    target_id: str | None
    target_name: str
    changes: dict[str, Any]
    source_ip: str | None
    user_agent: str | None
    request_id: str | None
    outcome: str


def event_json(row: AuditEvent) -> dict[str, Any]:
    return AuditEventOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@route(
    bp,
    "/audit-events",
    "GET",
    op_id="listAuditEvents",
    summary="List audit events: who changed what, when, from where (secrets redacted)",
    tag="admin",
    role="admin",
    response=AuditEventOut,
    many=True,
    list_spec=LIST_SPEC,
)
def list_audit_events() -> Response:
    return paginate(AuditEvent, LIST_SPEC, *parse_list_args(LIST_SPEC), event_json)
