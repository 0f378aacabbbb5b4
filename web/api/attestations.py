"""``/attestations``: manual checklist sign-offs (who, evidence, comment, expiry)."""

from __future__ import annotations

from typing import Any

from flask import Response

from auditor.store.models import Attestation, utcnow
from auditor.store.oversight import add_attestation, get_live, withdraw
from web.api.auth import current_token
from web.api.blueprint import bp, route
from web.api.envelope import Filter, ListSpec, ok, parse_list_args
from web.api.query import paginate
from web.api.schemas import AttestationCreate, AttestationOut, validation_error
from web.api.services import load_service
from web.checklist import checklist_items, unknown_item
from web.context import get_store

LIST_SPEC = ListSpec(
    sort_fields=("signed_at", "created_at", "item", "expires_at"),
    default_sort="-signed_at",
    filters={
        "service_id": Filter("uuid"),
        "item": Filter(),
        "signed_by": Filter(),
        "include_deleted": Filter("bool"),
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
    return paginate(Attestation, LIST_SPEC, page, sort, filters, attestation_json)


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
    location="/attestations/{id}",
    errors=(404,),
    description=(
        "`item` must be a checklist item of the service: the `item` of one of its "
        "attestation checks, or of the production profile's checklist when the service "
        "has that profile; any other item is refused (422 naming `item`), since no check "
        "would read its sign-off."
    ),
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
    if "signed_by" in body.model_fields_set:
        raise validation_error(
            {"signed_by": "is set by the server to the authenticated token's name; remove it"}
        )
    now = utcnow()
    signed_at = body.signed_at or now
    if signed_at > now:
        raise validation_error({"signed_at": "must not be in the future"})
    if body.expires_at is not None and body.expires_at <= signed_at:
        raise validation_error({"expires_at": "must be after signed_at"})
    svc = load_service(body.service_id.lower())  # an unknown service is the 404
    problem = unknown_item(body.item, checklist_items(get_store(), svc))
    if problem:
        raise validation_error({"item": problem})
    token = current_token()
    row = Attestation(
        service_id=svc.id,
        item=body.item,
        signed_by=f"token:{token.name}" if token else "api",
        evidence_url=body.evidence_url,
        comment=body.comment,
        signed_at=signed_at,
        expires_at=body.expires_at,
        created_at=now,
        updated_at=now,
    )
    add_attestation(get_store(), row)
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
    row = get_live(get_store(), Attestation, attestation_id, "attestation")
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
    row = withdraw(get_store(), Attestation, attestation_id, "attestation", utcnow())
    return ok(attestation_json(row))
