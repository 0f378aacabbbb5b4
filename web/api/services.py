"""``/services``: CRUD (PATCH partial, PUT full, DELETE soft) and ``/services/{id}/readiness``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response
from pydantic import ValidationError

from auditor.config import ServiceModel
from auditor.store import secrets as vault
from auditor.store import service_admin, service_url, sources
from auditor.store.errors import NameTaken
from auditor.store.models import Service, utcnow
from auditor.store.service_admin import (
    Taken,
    add_service,
    change_service,
    retire_service,
)
from web.api.blueprint import bp, route
from web.api.envelope import ApiError, Filter, ListSpec, not_found, ok, parse_list_args
from web.api.query import paginate
from web.api.schemas import ReadinessOut, ServiceCreate, ServiceOut, ServicePatch, validation_error
from web.context import get_store

STATES = ("pass", "warn", "fail", "error", "unknown")


LIST_SPEC = ListSpec(
    sort_fields=("name", "environment", "created_at", "updated_at"),
    default_sort="name",
    filters={
        "name": Filter(),
        "environment": Filter(),
        "owner": Filter(),
        "enabled": Filter("bool"),
        "public": Filter("bool"),
        "source": Filter("enum", ("config", "api", *sources.DISCOVERED)),
        "state": Filter(
            "enum",
            STATES,
            description="services with at least one check in this state",
            op="service_has_state",
        ),
        "include_deleted": Filter("bool", description="also list soft-deleted services"),
    },
)

LINKS = {
    name: {"operationId": op_id, "parameters": {"service_id": "$response.body#/data/id"}}
    for name, op_id in (
        ("GetService", "getService"),
        ("UpdateService", "patchService"),
        ("DeleteService", "deleteService"),
        ("ListChecks", "listChecks"),
        ("CreateCheck", "createCheck"),
        ("Readiness", "getReadiness"),
    )
}


def service_json(svc: Service) -> dict[str, Any]:
    out = ServiceOut.model_validate(svc, from_attributes=True).model_dump(mode="json")
    out["url"] = service_url.shown_url(svc)  # credentials never leave the store
    out["source"] = sources.source_view(svc.source, svc.source_ref)
    return out


def _store_url(svc: Service, url: str, change: bool) -> list[str]:
    """Keep the URL's credentials encrypted; a URL moved to another host drops them."""
    try:
        if change:
            return service_url.change_url(svc, url)
        service_url.store_url(svc, url)
        return []
    except service_url.RedactedUrl as exc:
        raise validation_error({"url": str(exc)}) from exc
    except vault.SecretKeyMissing as exc:
        raise ApiError(
            422,
            "secret_key_missing",
            "a URL with credentials cannot be stored: the server has no AUDITOR_SECRET_KEY",
            [{"field": "url", "message": "needs AUDITOR_SECRET_KEY on the server"}],
        ) from exc


def load_service(service_id: str) -> Service:
    """The live service, else ``NotFound`` (the API's 404)."""
    return service_admin.get_service(get_store(), service_id)


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    """Run the config file's own service validation (same rules as ``[[services]]``)."""
    try:
        model = ServiceModel.model_validate({**values, "checks": []})
    except ValidationError as exc:
        raise validation_error(
            {".".join(map(str, e["loc"])) or "body": str(e.get("msg")) for e in exc.errors()}
        ) from exc
    out = model.model_dump()
    out.pop("checks", None)
    return out


def _ensure_api_managed(svc: Service) -> None:
    if svc.source == "config":
        raise ApiError(
            409,
            "managed_by_config",
            "this service is defined in the configuration file; change it there",
        )
    if sources.is_discovered(svc.source):
        raise managed_by_discovery(svc)


def managed_by_discovery(svc: Service) -> ApiError:
    """409 for a discovered service: only waivers and attestations may change through the API."""
    where = f"{svc.source} {svc.source_ref}"
    return ApiError(
        409,
        "managed_by_discovery",
        f"this service was discovered ({where}); change it there "
        "(waivers and attestations are allowed)",
        [{"field": "source", "message": where}],
    )


def _conflict(name: str) -> ApiError:
    return ApiError(
        409,
        "conflict",
        f"a service named {name!r} already exists (possibly deleted)",
        [{"field": "name", "message": "already exists"}],
    )


@route(
    bp,
    "/services",
    "GET",
    op_id="listServices",
    summary="List services",
    tag="services",
    response=ServiceOut,
    many=True,
    list_spec=LIST_SPEC,
)
def list_services() -> Response:
    page, sort, filters = parse_list_args(LIST_SPEC)
    return paginate(Service, LIST_SPEC, page, sort, filters, service_json)


@route(
    bp,
    "/services",
    "POST",
    op_id="createService",
    summary="Create a service",
    tag="services",
    role="operator",
    body=ServiceCreate,
    response=ServiceOut,
    status=201,
    location="/services/{id}",
    errors=(409,),
    links=LINKS,
)
def create_service(body: ServiceCreate) -> Response:
    values = _normalise(body.model_dump())
    now = utcnow()
    url = values.pop("url")
    svc = Service(**values, url="", source="api", created_at=now, updated_at=now)
    _store_url(svc, url, change=False)
    try:
        add_service(get_store(), svc)
    except NameTaken as exc:
        raise _conflict(svc.name) from exc
    return ok(service_json(svc), 201)


@route(
    bp,
    "/services/{service_id}",
    "GET",
    op_id="getService",
    summary="Get a service",
    tag="services",
    response=ServiceOut,
)
def get_service(service_id: str) -> Response:
    return ok(service_json(load_service(service_id)))


def _update(service_id: str, values: dict[str, Any]) -> Response:
    dropped: list[str] = []

    def change(svc: Service, taken: Taken) -> None:
        _ensure_api_managed(svc)
        merged = _normalise({k: getattr(svc, k) for k in ServiceCreate.model_fields} | values)
        if merged["name"] != svc.name and taken(merged["name"]):
            raise _conflict(merged["name"])
        dropped.extend(_store_url(svc, merged.pop("url"), change=True))
        for key, value in merged.items():
            setattr(svc, key, value)

    try:
        svc = change_service(get_store(), service_id, change, dropped=dropped)
    except NameTaken as exc:
        raise _conflict(str(values.get("name"))) from exc
    except vault.SecretKeyMissing as exc:
        raise ApiError(
            409, "secret_unavailable", "the service's checks hold secrets that cannot be changed"
        ) from exc
    return ok(service_json(svc), extra_meta={"dropped_secrets": sorted(dropped)})


@route(
    bp,
    "/services/{service_id}",
    "PUT",
    op_id="replaceService",
    summary="Replace a service (full update; omitted keys take their defaults)",
    tag="services",
    role="operator",
    body=ServiceCreate,
    response=ServiceOut,
    errors=(409,),
)
def replace_service(service_id: str, body: ServiceCreate) -> Response:
    return _update(service_id, body.model_dump())


@route(
    bp,
    "/services/{service_id}",
    "PATCH",
    op_id="patchService",
    summary="Update some fields of a service",
    tag="services",
    role="operator",
    body=ServicePatch,
    response=ServiceOut,
    errors=(409,),
)
def patch_service(service_id: str, body: ServicePatch) -> Response:
    return _update(service_id, body.model_dump(exclude_unset=True))


@route(
    bp,
    "/services/{service_id}",
    "DELETE",
    op_id="deleteService",
    summary="Delete a service (soft: history is kept, checks stop)",
    tag="services",
    role="operator",
    response=ServiceOut,
    errors=(409,),
)
def delete_service(service_id: str) -> Response:
    svc = retire_service(get_store(), service_id, _ensure_api_managed, utcnow())
    return ok(service_json(svc))


# -- readiness --------------------------------------------------------------------------------


def compute_readiness(service_id: str, now: datetime) -> dict[str, Any]:
    """The single place the API asks for a service's readiness (DESIGN §6: the readiness
    module's score, verdict and level, as the dashboard and the gate compute them)."""
    from auditor.readiness.queries import load_service_readiness

    try:
        result = load_service_readiness(get_store(), service_id, now)
    except LookupError as exc:
        raise not_found("service") from exc
    data: dict[str, Any] = _jsonable(result)
    return data


def _jsonable(value: Any) -> Any:
    import dataclasses
    import enum

    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


@route(
    bp,
    "/services/{service_id}/readiness",
    "GET",
    op_id="getReadiness",
    summary="Readiness of a service: score, verdict, level (DESIGN §6)",
    tag="services",
    response=ReadinessOut,
)
def get_readiness(service_id: str) -> Response:
    load_service(service_id)
    data = compute_readiness(service_id, utcnow())
    data.setdefault("service_id", service_id)
    return ok(data)
