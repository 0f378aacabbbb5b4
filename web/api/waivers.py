"""``/waivers``: a reason and an expiry; the waived check keeps running and stays visible."""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlmodel import col, select

from auditor.store.models import Check, Waiver, utcnow
from web import get_store
from web.api import bp
from web.api.auth import current_token
from web.api.envelope import ApiError, Filter, ListSpec, not_found, ok, parse_list_args
from web.api.openapi import route
from web.api.query import paginate
from web.api.schemas import WaiverCreate, WaiverOut, validation_error


def _active(stmt: Any, value: bool) -> Any:
    now = utcnow()
    live = (col(Waiver.deleted_at).is_(None)) & (col(Waiver.expires_at) > now)
    return stmt.where(live if value else ~live)


LIST_SPEC = ListSpec(
    sort_fields=("created_at", "expires_at"),
    default_sort="-created_at",
    filters={
        "check_id": Filter("uuid", column=Waiver.check_id),
        "active": Filter("bool", description="not withdrawn and not expired", apply=_active),
        "include_deleted": Filter("bool", apply=lambda st, v: st),
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
    stmt = select(Waiver)
    if not filters.pop("include_deleted", False):
        stmt = stmt.where(col(Waiver.deleted_at).is_(None))
    with get_store().read() as s:
        return paginate(s, stmt, Waiver, LIST_SPEC, page, sort, filters, waiver_json)


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
    with get_store().write() as s:
        chk = s.get(Check, row.check_id)
        if chk is None or chk.deleted_at is not None:
            raise ApiError(
                404,
                "not_found",
                "check not found",
                [{"field": "check_id", "message": "no such check"}],
            )
        s.add(row)
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
    with get_store().read() as s:
        row = s.get(Waiver, waiver_id)
        if row is None or row.deleted_at is not None:
            raise not_found("waiver")
        return ok(waiver_json(row))


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
    now = utcnow()
    with get_store().write() as s:
        row = s.get(Waiver, waiver_id)
        if row is None or row.deleted_at is not None:
            raise not_found("waiver")
        row.deleted_at = now
        row.updated_at = now
        s.add(row)
    return ok(waiver_json(row))
