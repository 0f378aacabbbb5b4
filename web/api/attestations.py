"""``/attestations``: manual checklist sign-offs (who, evidence, comment, expiry)."""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlmodel import col, select

from auditor.store.models import Attestation, utcnow
from web import get_store
from web.api import bp
from web.api.auth import current_token
from web.api.envelope import Filter, ListSpec, not_found, ok, parse_list_args
from web.api.openapi import route
from web.api.query import paginate
from web.api.schemas import AttestationCreate, AttestationOut, validation_error
from web.api.services import load_service

LIST_SPEC = ListSpec(
    sort_fields=("signed_at", "created_at", "item", "expires_at"),
    default_sort="-signed_at",
    filters={
        "service_id": Filter("uuid", column=Attestation.service_id),
        "item": Filter(column=Attestation.item),
        "signed_by": Filter(column=Attestation.signed_by),
        "include_deleted": Filter("bool", apply=lambda st, v: st),
    },
)


def attestation_json(row: Attestation) -> dict[str, Any]:
    return AttestationOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@route(
    bp,
    "/attestations",
    "GET",
    op_id="listAttestations",
    summary="List attestations",
    tag="attestations",
    response=AttestationOut,
    many=True,
    list_spec=LIST_SPEC,
)
def list_attestations() -> Response:
    page, sort, filters = parse_list_args(LIST_SPEC)
    stmt = select(Attestation)
    if not filters.pop("include_deleted", False):
        stmt = stmt.where(col(Attestation.deleted_at).is_(None))
    with get_store().read() as s:
        return paginate(s, stmt, Attestation, LIST_SPEC, page, sort, filters, attestation_json)


@route(
    bp,
    "/attestations",
    "POST",
    op_id="createAttestation",
    summary="Sign off a checklist item for a service",
    tag="attestations",
    role="operator",
    body=AttestationCreate,
    response=AttestationOut,
    status=201,
    errors=(404,),
    links={
        "GetAttestation": {
            "operationId": "getAttestation",
            "parameters": {"attestation_id": "$response.body#/data/id"},
        },
        "DeleteAttestation": {
            "operationId": "deleteAttestation",
            "parameters": {"attestation_id": "$response.body#/data/id"},
        },
    },
)
def create_attestation(body: AttestationCreate) -> Response:
    now = utcnow()
    signed_at = body.signed_at or now
    if signed_at > now:
        raise validation_error({"signed_at": "must not be in the future"})
    if body.expires_at is not None and body.expires_at <= signed_at:
        raise validation_error({"expires_at": "must be after signed_at"})
    token = current_token()
    row = Attestation(
        service_id=body.service_id.lower(),
        item=body.item,
        signed_by=body.signed_by or (f"token:{token.name}" if token else "api"),
        evidence_url=body.evidence_url,
        comment=body.comment,
        signed_at=signed_at,
        expires_at=body.expires_at,
        created_at=now,
        updated_at=now,
    )
    with get_store().write() as s:
        load_service(s, row.service_id)
        s.add(row)
    return ok(attestation_json(row), 201)


@route(
    bp,
    "/attestations/{attestation_id}",
    "GET",
    op_id="getAttestation",
    summary="Get an attestation",
    tag="attestations",
    response=AttestationOut,
)
def get_attestation(attestation_id: str) -> Response:
    with get_store().read() as s:
        row = s.get(Attestation, attestation_id)
        if row is None or row.deleted_at is not None:
            raise not_found("attestation")
        return ok(attestation_json(row))


@route(
    bp,
    "/attestations/{attestation_id}",
    "DELETE",
    op_id="deleteAttestation",
    summary="Withdraw an attestation (soft delete)",
    tag="attestations",
    role="operator",
    response=AttestationOut,
)
def delete_attestation(attestation_id: str) -> Response:
    now = utcnow()
    with get_store().write() as s:
        row = s.get(Attestation, attestation_id)
        if row is None or row.deleted_at is not None:
            raise not_found("attestation")
        row.deleted_at = now
        row.updated_at = now
        s.add(row)
    return ok(attestation_json(row))
