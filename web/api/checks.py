"""``/services/{id}/checks``: CRUD and ``POST …/run`` (run now).

A check body is validated twice: against the documented schema (``CheckCreate``) and then by
``auditor.config.build_check`` — the very function that validates ``[[services.checks]]`` in
the config file — after the API tier's policy (``web.tiers``, DESIGN §9): the API accepts
what the file accepts, minus what only the file may do.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flask import Response, current_app

from auditor.config import COMMON_CHECK_KEYS, build_check
from auditor.config.sync import apply_check_config
from auditor.store import check_admin, secret_moves, sources
from auditor.store import secrets as vault
from auditor.store.check_admin import (
    CheckRecord,
    add_check,
    change_check,
    get_run,
    retire_check,
    states_of,
)
from auditor.store.errors import NameTaken
from auditor.store.listing import Criterion
from auditor.store.models import Check, CheckState, Service, utcnow
from auditor.store.service_admin import Taken
from web.api.auth import current_token
from web.api.blueprint import bp, route
from web.api.envelope import ApiError, Filter, ListSpec, listing, ok, parse_list_args
from web.api.query import fetch
from web.api.runs import run_json
from web.api.schemas import CheckCreate, CheckOut, CheckPatch, RunOut, validation_error
from web.api.services import load_service, managed_by_discovery
from web.context import get_config, get_store
from web.tiers import api_problems

STATES = ("pass", "warn", "fail", "error", "unknown")


LIST_SPEC = ListSpec(
    sort_fields=("name", "kind", "created_at", "updated_at", "next_run_at"),
    default_sort="name",
    filters={
        "kind": Filter(),
        "name": Filter(),
        "enabled": Filter("bool"),
        "severity": Filter("enum", ("critical", "high", "medium", "low", "info")),
        "level": Filter("enum", ("bronze", "silver", "gold")),
        "state": Filter("enum", STATES, description="latest stored state", op="check_in_state"),
        "include_deleted": Filter("bool"),
    },
)

_IDS = {"service_id": "$response.body#/data/service_id", "check_id": "$response.body#/data/id"}
LINKS = {
    "GetCheck": {"operationId": "getCheck", "parameters": _IDS},
    "PatchCheck": {"operationId": "patchCheck", "parameters": _IDS},
    "DeleteCheck": {"operationId": "deleteCheck", "parameters": _IDS},
    "ListRuns": {
        "operationId": "listRuns",
        "parameters": {"check_id": "$response.body#/data/id"},
    },
    "CreateWaiver": {
        "operationId": "createWaiver",
        "requestBody": {"check_id": "$response.body#/data/id"},
    },
}


# the check keys the API shares with ``[[services.checks]]`` → the stored field
_SHARED = {
    "kind": "kind",
    "name": "name",
    "interval": "interval_s",
    "timeout": "timeout_s",
    "jitter": "jitter_s",
    "severity": "severity",
    "level": "level",
    "failure_threshold": "failure_threshold",
    "success_threshold": "success_threshold",
    "consecutive_error_limit": "consecutive_error_limit",
    "enabled": "enabled",
    "blocking": "blocking",
    "description": "description",
}


def _shared_keys(chk: Check) -> dict[str, Any]:
    return {key: getattr(chk, attr) for key, attr in _SHARED.items()}


def check_json(chk: Check, state: CheckState | None) -> dict[str, Any]:
    secret: dict[str, Any] = {}
    if chk.secret_options:
        try:
            secret = vault.decrypt_json(chk.secret_options)
        except (vault.SecretKeyMissing, vault.SecretUndecryptable):
            secret = {}
    # config-file checks keep their options as written: classify them for display too
    plain, written = vault.split_options(chk.options)
    secret = vault.merge_options(written, secret)
    token = current_token()
    show_token = token is not None and token.role in ("operator", "admin")
    data = {
        "id": chk.id,
        "service_id": chk.service_id,
        **_shared_keys(chk),
        "options": vault.redact_options(plain, secret),
        "secret_fields": vault.secret_paths(secret),
        "schedule": chk.schedule,
        "source": chk.source,
        "heartbeat_token": chk.heartbeat_token if show_token else None,
        "next_run_at": chk.next_run_at,
        "locations": list(chk.locations or []),
        "quorum": chk.quorum,
        "state": None,
        "created_at": chk.created_at,
        "updated_at": chk.updated_at,
        "deleted_at": chk.deleted_at,
    }
    if state is not None:
        data["state"] = {
            "state": state.state,
            "raw_status": state.raw_status,
            "since": state.since,
            "last_run_id": state.last_run_id,
            "last_run_at": state.last_run_at,
            "last_duration_ms": state.last_duration_ms,
            "last_summary": state.last_summary,
            "last_findings": [
                {k: str(f.get(k, "")) for k in ("code", "severity", "message")}
                for f in state.last_findings
            ],
            "last_error_kind": state.last_error_kind,
            "consecutive_fail": state.consecutive_fail,
            "consecutive_pass": state.consecutive_pass,
            "runs_total": state.runs_total,
        }
    return CheckOut.model_validate(data).model_dump(mode="json")


def load_check(service_id: str, check_id: str) -> CheckRecord:
    """The live check of a live service, else ``NotFound`` (the API's 404)."""
    return check_admin.get_check(get_store(), service_id, check_id)


def _stored_secrets(chk: Check | None) -> dict[str, Any]:
    if chk is None or not chk.secret_options:
        return {}
    try:
        return vault.decrypt_json(chk.secret_options)
    except (vault.SecretKeyMissing, vault.SecretUndecryptable) as exc:
        raise ApiError(
            409, "secret_unavailable", "the check's stored secrets cannot be decrypted"
        ) from exc


def _restore_redacted(
    options: dict[str, Any], stored: dict[str, Any], *, moved: bool
) -> tuple[dict[str, Any], list[str]]:
    """``********`` (or a URL as shown redacted) sent back for a stored secret keeps it —
    unless the check moves to another host: then it is dropped (and reported)."""
    out, dropped, errors = secret_moves.restore(options, stored, moved=moved)
    if errors:
        raise validation_error(errors)
    return out, dropped


def _validate(common: dict[str, Any], options: dict[str, Any]) -> Any:
    clash = sorted(set(options) & COMMON_CHECK_KEYS)
    if clash:
        raise validation_error(
            {f"options.{k}": "a shared check key; give it at the top level" for k in clash}
        )
    refused = api_problems(str(common.get("kind")), options)  # before anything reads a file
    if refused:
        raise validation_error(refused)
    built, problems = build_check({**common, **options}, get_config().auditor, "")
    if built is None or problems:
        details: dict[str, str] = {}
        for problem in problems:
            path, _, message = problem.partition(": ")
            path = path.lstrip(".") or "body"
            head = path.split(".")[0].split("[")[0]
            if head not in COMMON_CHECK_KEYS:
                path = f"options.{path}"
            details.setdefault(path, message or "is invalid")
        raise validation_error(details or {"body": "invalid check"})
    return built


def _apply(chk: Check, built: Any, options: dict[str, Any], now: Any, *, reschedule: bool) -> None:
    plain, secret = vault.split_options(options)
    if secret:
        try:
            chk.secret_options = vault.encrypt_json(secret)
        except vault.SecretKeyMissing as exc:
            raise ApiError(
                422,
                "secret_key_missing",
                "secret options cannot be stored: the server has no AUDITOR_SECRET_KEY",
                [
                    {"field": f"options.{p}", "message": "needs AUDITOR_SECRET_KEY on the server"}
                    for p in vault.secret_paths(secret)
                ],
            ) from exc
    else:
        chk.secret_options = None
    if (
        apply_check_config(
            chk, built, enabled=built.common.enabled, now=now, source="api", options=plain
        )
        or reschedule
    ):
        chk.next_run_at = now


def _common_of(chk: Check) -> dict[str, Any]:
    out = _shared_keys(chk)
    if chk.schedule is not None:
        out["schedule"] = chk.schedule
    return out


def _conflict(name: str) -> ApiError:
    return ApiError(
        409,
        "conflict",
        f"this service already has a check named {name!r} (possibly deleted)",
        [{"field": "name", "message": "already exists"}],
    )


def _ensure_api_managed(chk: Check) -> None:
    if chk.source == "config":
        raise ApiError(409, "managed_by_config", "this check is defined in the configuration file")
    if sources.is_discovered(chk.source):
        raise ApiError(
            409,
            "managed_by_discovery",
            f"this check belongs to a service discovered by {chk.source}; change it there",
        )


def record_json(found: CheckRecord) -> dict[str, Any]:
    return check_json(found.check, found.state)


@route(
    bp,
    "/services/{service_id}/checks",
    "GET",
    op_id="listChecks",
    summary="List a service's checks with their latest state",
    tag="checks",
    response=CheckOut,
    many=True,
    list_spec=LIST_SPEC,
)
def list_checks(service_id: str) -> Response:
    page, sort, filters = parse_list_args(LIST_SPEC)
    load_service(service_id)
    found = fetch(
        Check, LIST_SPEC, page, sort, filters, [Criterion("service_id", "eq", service_id)]
    )
    states = states_of(get_store(), (c.id for c in found.rows))
    return listing([check_json(c, states.get(c.id)) for c in found.rows], page, found.total)


@route(
    bp,
    "/services/{service_id}/checks",
    "POST",
    op_id="createCheck",
    summary="Add a check",
    tag="checks",
    role="operator",
    body=CheckCreate,
    response=CheckOut,
    status=201,
    location="/services/{service_id}/checks/{id}",
    errors=(409,),
    links=LINKS,
)
def create_check(service_id: str, body: CheckCreate) -> Response:
    common = body.model_dump(exclude_unset=True, exclude={"options"})
    common["kind"] = body.kind
    built = _validate(common, dict(body.options))
    now = utcnow()

    def make(svc: Service, taken: Taken) -> Check:
        if sources.is_discovered(svc.source):
            raise managed_by_discovery(svc)
        if taken(built.name):
            raise _conflict(built.name)
        chk = Check(service_id=svc.id, name=built.name, kind=built.kind, created_at=now)
        _apply(chk, built, dict(body.options), now, reschedule=True)
        return chk

    try:
        chk, state = add_check(get_store(), service_id, make, now)
    except NameTaken as exc:
        raise _conflict(built.name) from exc
    return ok(check_json(chk, state), 201)


@route(
    bp,
    "/services/{service_id}/checks/{check_id}",
    "GET",
    op_id="getCheck",
    summary="Get a check",
    tag="checks",
    response=CheckOut,
)
def get_check(service_id: str, check_id: str) -> Response:
    return ok(record_json(load_check(service_id, check_id)))


def _update(
    service_id: str,
    check_id: str,
    common: dict[str, Any],
    options: dict[str, Any] | None,
    *,
    full: bool,
) -> Response:
    now = utcnow()
    dropped: list[str] = []
    service_url = load_service(service_id).url

    def change(chk: Check, taken: Taken) -> None:
        _ensure_api_managed(chk)
        stored = _stored_secrets(chk)
        before = vault.merge_options(chk.options, stored)
        sent = before if options is None else options
        moved = secret_moves.moves(before, sent, service_url)
        kept, lost = _restore_redacted(sent, stored, moved=moved)
        dropped[:] = lost
        merged = dict(common) if full else {**_common_of(chk), **common}
        merged.setdefault("kind", chk.kind)
        built = _validate(merged, kept)
        if built.name != chk.name and taken(built.name):
            raise _conflict(built.name)
        _apply(chk, built, kept, now, reschedule=False)

    try:
        found = change_check(get_store(), service_id, check_id, change)
    except NameTaken as exc:
        raise _conflict(str(common.get("name"))) from exc
    return ok(record_json(found), extra_meta={"dropped_secrets": dropped})


@route(
    bp,
    "/services/{service_id}/checks/{check_id}",
    "PUT",
    op_id="replaceCheck",
    summary="Replace a check (full update)",
    tag="checks",
    role="operator",
    body=CheckCreate,
    response=CheckOut,
    errors=(409,),
)
def replace_check(service_id: str, check_id: str, body: CheckCreate) -> Response:
    common = body.model_dump(exclude_unset=True, exclude={"options"})
    common["kind"] = body.kind
    return _update(service_id, check_id, common, dict(body.options), full=True)


@route(
    bp,
    "/services/{service_id}/checks/{check_id}",
    "PATCH",
    op_id="patchCheck",
    summary="Update some fields of a check",
    tag="checks",
    role="operator",
    body=CheckPatch,
    response=CheckOut,
    errors=(409,),
)
def patch_check(service_id: str, check_id: str, body: CheckPatch) -> Response:
    common = body.model_dump(exclude_unset=True, exclude={"options"})
    if common.get("schedule", "") is None:
        common.pop("schedule")
    options = dict(body.options) if body.options is not None else None
    return _update(service_id, check_id, common, options, full=False)


@route(
    bp,
    "/services/{service_id}/checks/{check_id}",
    "DELETE",
    op_id="deleteCheck",
    summary="Delete a check (soft: its runs are kept)",
    tag="checks",
    role="operator",
    response=CheckOut,
    errors=(409,),
)
def delete_check(service_id: str, check_id: str) -> Response:
    found = retire_check(get_store(), service_id, check_id, _ensure_api_managed, utcnow())
    return ok(record_json(found))


# -- run now --------------------------------------------------------------------------------


def default_run_now(check_id: str) -> str | None:
    """Run one check now like ``auditor audit`` does and store it; returns the run id."""

    from auditor.audit import run_now

    outcome = asyncio.run(run_now(get_config(), get_store(), check_id, role="api"))
    return outcome[1] if outcome else None


@route(
    bp,
    "/services/{service_id}/checks/{check_id}/run",
    "POST",
    op_id="runCheck",
    summary="Run a check now and store the result (like `auditor audit`)",
    tag="checks",
    role="operator",
    response=RunOut,
    status=201,
    errors=(409,),
)
def run_check_now(service_id: str, check_id: str) -> Response:
    found = load_check(service_id, check_id)
    if not found.check.enabled or not found.service.enabled:
        raise ApiError(409, "disabled", "the check or its service is disabled")
    runner = current_app.extensions.get("auditor.api.run_now", default_run_now)
    run_id = runner(check_id)
    if run_id is None:
        raise ApiError(409, "not_run", "the check could not be run now; retry")
    run = get_run(get_store(), run_id)
    if run is None:
        raise ApiError(409, "not_run", "the run was not stored; retry")
    return ok(run_json(run), 201)
