"""``/transitions`` and ``/alert-deliveries``: read straight from the outbox tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response

from auditor.store.listing import get_row
from auditor.store.models import AlertDelivery, Transition
from web.api.blueprint import bp, route
from web.api.envelope import Filter, ListSpec, not_found, ok, parse_list_args
from web.api.query import paginate
from web.api.schemas import AlertDeliveryOut, TransitionOut
from web.context import get_store

STATES = ("pass", "warn", "fail", "error", "unknown")

TRANSITIONS = ListSpec(
    sort_fields=("at", "created_at"),
    default_sort="-at",
    filters={
        "service_id": Filter("uuid"),
        "check_id": Filter("uuid"),
        "state": Filter("enum", STATES),
        "previous_state": Filter("enum", STATES),
        "since": Filter("datetime", field="at", op="ge"),
        "until": Filter("datetime", field="at", op="lt"),
    },
)

DELIVERIES = ListSpec(
    sort_fields=("created_at", "updated_at", "delivered_at"),
    default_sort="-created_at",
    filters={
        "transition_id": Filter("uuid"),
        "receiver": Filter(),
        "status": Filter("enum", ("pending", "delivered", "failed", "suppressed")),
        "purpose": Filter("enum", ("notify", "reminder")),
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


def _one(model: Any, row_id: str, what: str, serialize: Callable[[Any], Any]) -> Response:
    row = get_row(get_store(), model, row_id)
    if row is None:
        raise not_found(what)
    return ok(serialize(row))


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
    return paginate(Transition, TRANSITIONS, *parse_list_args(TRANSITIONS), transition_json)


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
    return _one(Transition, transition_id, "transition", transition_json)


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
    return paginate(AlertDelivery, DELIVERIES, *parse_list_args(DELIVERIES), delivery_json)


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
    return _one(AlertDelivery, delivery_id, "alert delivery", delivery_json)
