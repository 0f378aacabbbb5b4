"""``/transitions`` and ``/alert-deliveries``: read straight from the outbox tables."""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlmodel import col, select

from auditor.store.models import AlertDelivery, Transition
from web import get_store
from web.api import bp
from web.api.envelope import Filter, ListSpec, not_found, ok, parse_list_args
from web.api.openapi import route
from web.api.query import paginate
from web.api.schemas import AlertDeliveryOut, TransitionOut

STATES = ("pass", "warn", "fail", "error", "unknown")

TRANSITIONS = ListSpec(
    sort_fields=("at", "created_at"),
    default_sort="-at",
    filters={
        "service_id": Filter("uuid", column=Transition.service_id),
        "check_id": Filter("uuid", column=Transition.check_id),
        "state": Filter("enum", STATES, column=Transition.state),
        "previous_state": Filter("enum", STATES, column=Transition.previous_state),
        "since": Filter("datetime", apply=lambda st, v: st.where(col(Transition.at) >= v)),
        "until": Filter("datetime", apply=lambda st, v: st.where(col(Transition.at) < v)),
    },
)

DELIVERIES = ListSpec(
    sort_fields=("created_at", "updated_at", "delivered_at"),
    default_sort="-created_at",
    filters={
        "transition_id": Filter("uuid", column=AlertDelivery.transition_id),
        "receiver": Filter(column=AlertDelivery.receiver),
        "status": Filter(
            "enum", ("pending", "delivered", "failed", "suppressed"), column=AlertDelivery.status
        ),
        "purpose": Filter("enum", ("notify", "reminder"), column=AlertDelivery.purpose),
    },
)


def _findings(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{k: str(f.get(k, "")) for k in ("code", "severity", "message")} for f in items]


def transition_json(row: Transition) -> dict[str, Any]:
    data = row.model_dump(exclude={"claimed_by", "claimed_until"})
    data["findings"] = _findings(row.findings)
    return TransitionOut.model_validate(data).model_dump(mode="json")


def delivery_json(row: AlertDelivery) -> dict[str, Any]:
    return AlertDeliveryOut.model_validate(row, from_attributes=True).model_dump(mode="json")


@route(
    bp,
    "/transitions",
    "GET",
    op_id="listTransitions",
    summary="State transitions (the alert outbox)",
    tag="alerts",
    response=TransitionOut,
    many=True,
    list_spec=TRANSITIONS,
)
def list_transitions() -> Response:
    page, sort, filters = parse_list_args(TRANSITIONS)
    with get_store().read() as s:
        return paginate(
            s, select(Transition), Transition, TRANSITIONS, page, sort, filters, transition_json
        )


@route(
    bp,
    "/transitions/{transition_id}",
    "GET",
    op_id="getTransition",
    summary="Get a transition",
    tag="alerts",
    response=TransitionOut,
)
def get_transition(transition_id: str) -> Response:
    with get_store().read() as s:
        row = s.get(Transition, transition_id)
        if row is None:
            raise not_found("transition")
        return ok(transition_json(row))


@route(
    bp,
    "/alert-deliveries",
    "GET",
    op_id="listAlertDeliveries",
    summary="Alert deliveries and their attempts",
    tag="alerts",
    response=AlertDeliveryOut,
    many=True,
    list_spec=DELIVERIES,
)
def list_deliveries() -> Response:
    page, sort, filters = parse_list_args(DELIVERIES)
    with get_store().read() as s:
        return paginate(
            s, select(AlertDelivery), AlertDelivery, DELIVERIES, page, sort, filters, delivery_json
        )


@route(
    bp,
    "/alert-deliveries/{delivery_id}",
    "GET",
    op_id="getAlertDelivery",
    summary="Get an alert delivery",
    tag="alerts",
    response=AlertDeliveryOut,
)
def get_delivery(delivery_id: str) -> Response:
    with get_store().read() as s:
        row = s.get(AlertDelivery, delivery_id)
        if row is None:
            raise not_found("alert delivery")
        return ok(delivery_json(row))
