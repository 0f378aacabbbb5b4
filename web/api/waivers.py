"""``/waivers``: a reason and an expiry; the waived check keeps running and stays visible."""

from __future__ import annotations

from typing import Any

from flask import Response

from auditor.store.errors import NotFound
from auditor.store.models import Waiver, utcnow
from auditor.store.oversight import add_waiver, get_live, withdraw
from web.api.auth import current_token
from web.api.blueprint import bp, route
from web.api.envelope import ApiError, Filter, ListSpec, ok, parse_list_args
from web.api.query import paginate
from web.api.schemas import WaiverCreate, WaiverOut, validation_error
from web.context import get_store

LIST_SPEC = ListSpec(
    sort_fields=("created_at", "expires_at"),
    default_sort="-created_at",
    filters={
        "check_id": Filter("uuid"),
        "active": Filter("bool", description="not withdrawn and not expired", op="waiver_active"),
        "include_deleted": Filter("bool"),
    },
)


def waiver_json(row: Waiver) -> dict[str, Any]:
    data = row.model_dump()
    data["active"] = row.deleted_at is None and row.expires_at > utcnow()
    return WaiverOut.model_validate(data).model_dump(mode="json")


@route(
    bp,
    "/waivers",
    "GET",
    op_id="listWaivers",
    summary="List waivers",
    tag="waivers",
    response=WaiverOut,
    many=True,
    list_spec=LIST_SPEC,
)
def list_waivers() -> Response:
    page, sort, filters = parse_list_args(LIST_SPEC)
    return paginate(Waiver, LIST_SPEC, page, sort, filters, waiver_json)


@route(
    bp,
    "/waivers",
    "POST",
    op_id="createWaiver",
    summary="Waive a check until a date",
    tag="waivers",
    role="operator",
    body=WaiverCreate,
    response=WaiverOut,
    status=201,
    location="/waivers/{id}",
    errors=(404,),
    links={
        "GetWaiver": {
            "operationId": "getWaiver",
            "parameters": {"waiver_id": "$response.body#/data/id"},
        },
        "DeleteWaiver": {
            "operationId": "deleteWaiver",
            "parameters": {"waiver_id": "$response.body#/data/id"},
        },
    },
)
def create_waiver(body: WaiverCreate) -> Response:
    now = utcnow()
    if body.expires_at <= now:
        raise validation_error({"expires_at": "must be in the future"})
    token = current_token()
    row = Waiver(
        check_id=body.check_id.lower(),
        reason=body.reason,
        created_by=f"token:{token.name}" if token else "api",
        expires_at=body.expires_at,
        created_at=now,
        updated_at=now,
    )
    try:
        add_waiver(get_store(), row)
    except NotFound as exc:
        raise ApiError(
            404,
            "not_found",
            "check not found",
            [{"field": "check_id", "message": "no such check"}],
        ) from exc
    return ok(waiver_json(row), 201)


@route(
    bp,
    "/waivers/{waiver_id}",
    "GET",
    op_id="getWaiver",
    summary="Get a waiver",
    tag="waivers",
    response=WaiverOut,
)
def get_waiver(waiver_id: str) -> Response:
    return ok(waiver_json(get_live(get_store(), Waiver, waiver_id, "waiver")))


@route(
    bp,
    "/waivers/{waiver_id}",
    "DELETE",
    op_id="deleteWaiver",
    summary="Withdraw a waiver (soft delete)",
    tag="waivers",
    role="operator",
    response=WaiverOut,
)
def delete_waiver(waiver_id: str) -> Response:
    return ok(waiver_json(withdraw(get_store(), Waiver, waiver_id, "waiver", utcnow())))
