"""``/services/{id}/checks``: CRUD and ``POST …/run`` (run now).

A check body is validated twice: against the documented schema (``CheckCreate``) and then by
``auditor.config.build_check`` — the very function that validates ``[[services.checks]]`` in
the config file — so the API and the file accept the same thing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app
from sqlmodel import Session, col, select

from auditor.config import COMMON_CHECK_KEYS, build_check
from auditor.config.sync import apply_check_config
from auditor.store import secrets as vault
from auditor.store.models import Check, CheckState, Run, utcnow
from web import get_config, get_store
from web.api import bp
from web.api.auth import current_token
from web.api.envelope import ApiError, Filter, ListSpec, not_found, ok, parse_list_args
from web.api.openapi import route
from web.api.query import paginate
from web.api.runs import run_json
from web.api.schemas import CheckCreate, CheckOut, CheckPatch, RunOut, validation_error
from web.api.services import load_service

STATES = ("pass", "warn", "fail", "error", "unknown")


def _state_filter(stmt: Any, value: str) -> Any:
    sub = select(CheckState.check_id).where(
        col(CheckState.check_id) == col(Check.id), col(CheckState.state) == value
    )
    if value == "unknown":
        none = ~sa.exists(
            select(CheckState.check_id).where(col(CheckState.check_id) == col(Check.id))
        )
        return stmt.where(sa.or_(sa.exists(sub), none))
    return stmt.where(sa.exists(sub))


LIST_SPEC = ListSpec(
    sort_fields=("name", "kind", "created_at", "updated_at", "next_run_at"),
    default_sort="name",
    filters={
        "kind": Filter(column=Check.kind),
        "name": Filter(column=Check.name),
        "enabled": Filter("bool", column=Check.enabled),
        "severity": Filter(
            "enum", ("critical", "high", "medium", "low", "info"), column=Check.severity
        ),
        "level": Filter("enum", ("bronze", "silver", "gold"), column=Check.level),
        "state": Filter("enum", STATES, description="latest stored state", apply=_state_filter),
        "include_deleted": Filter("bool", apply=lambda st, v: st),
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


def check_json(chk: Check, state: CheckState | None) -> dict[str, Any]:
    secret: dict[str, Any] = {}
    if chk.secret_options:
        try:
            secret = vault.decrypt_json(chk.secret_options)
        except (vault.SecretKeyMissing, vault.SecretUndecryptable):
            secret = {}
    token = current_token()
    show_token = token is not None and token.role in ("operator", "admin")
    data = {
        "id": chk.id,
        "service_id": chk.service_id,
        "name": chk.name,
        "kind": chk.kind,
        "options": vault.redact_options(chk.options, secret),
        "secret_fields": vault.secret_paths(secret),
        "interval": chk.interval_s,
        "schedule": chk.schedule,
        "timeout": chk.timeout_s,
        "jitter": chk.jitter_s,
        "severity": chk.severity,
        "level": chk.level,
        "failure_threshold": chk.failure_threshold,
        "success_threshold": chk.success_threshold,
        "consecutive_error_limit": chk.consecutive_error_limit,
        "enabled": chk.enabled,
        "blocking": chk.blocking,
        "description": chk.description,
        "source": chk.source,
        "heartbeat_token": chk.heartbeat_token if show_token else None,
        "next_run_at": chk.next_run_at,
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


def load_check(
    s: Session, service_id: str, check_id: str, *, include_deleted: bool = False
) -> Check:
    chk = s.get(Check, check_id)
    if (
        chk is None
        or chk.service_id != service_id
        or (chk.deleted_at is not None and not include_deleted)
    ):
        raise not_found("check")
    return chk


def _stored_secrets(chk: Check | None) -> dict[str, Any]:
    if chk is None or not chk.secret_options:
        return {}
    try:
        return vault.decrypt_json(chk.secret_options)
    except (vault.SecretKeyMissing, vault.SecretUndecryptable) as exc:
        raise ApiError(
            409, "secret_unavailable", "the check's stored secrets cannot be decrypted"
        ) from exc


def _restore_redacted(options: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``********`` sent back for a stored secret keeps the stored value."""
    out = dict(options)
    for key, value in options.items():
        if value == vault.REDACTED:
            if key not in stored or isinstance(stored[key], dict):
                raise validation_error({f"options.{key}": "a redacted value cannot be stored"})
            out[key] = stored[key]
        elif isinstance(value, dict) and any(v == vault.REDACTED for v in value.values()):
            inner = dict(value)
            for k, v in value.items():
                if v == vault.REDACTED:
                    kept = stored.get(key, {}).get(k) if isinstance(stored.get(key), dict) else None
                    if kept is None:
                        raise validation_error(
                            {f"options.{key}.{k}": "a redacted value cannot be stored"}
                        )
                    inner[k] = kept
            out[key] = inner
    return out


def _validate(common: dict[str, Any], options: dict[str, Any]) -> Any:
    clash = sorted(set(options) & COMMON_CHECK_KEYS)
    if clash:
        raise validation_error(
            {f"options.{k}": "a shared check key; give it at the top level" for k in clash}
        )
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
    out: dict[str, Any] = {
        "kind": chk.kind,
        "name": chk.name,
        "interval": chk.interval_s,
        "timeout": chk.timeout_s,
        "jitter": chk.jitter_s,
        "severity": chk.severity,
        "level": chk.level,
        "failure_threshold": chk.failure_threshold,
        "success_threshold": chk.success_threshold,
        "consecutive_error_limit": chk.consecutive_error_limit,
        "enabled": chk.enabled,
        "blocking": chk.blocking,
        "description": chk.description,
    }
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


def _name_taken(s: Session, service_id: str, name: str, exclude: str | None = None) -> bool:
    stmt = select(Check.id).where(col(Check.service_id) == service_id, col(Check.name) == name)
    if exclude:
        stmt = stmt.where(col(Check.id) != exclude)
    return s.exec(stmt).first() is not None


def _ensure_api_managed(chk: Check) -> None:
    if chk.source == "config":
        raise ApiError(409, "managed_by_config", "this check is defined in the configuration file")


def _with_state(s: Session, chk: Check) -> dict[str, Any]:
    return check_json(chk, s.get(CheckState, chk.id))


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
    with get_store().read() as s:
        load_service(s, service_id)
        stmt = select(Check).where(col(Check.service_id) == service_id)
        if not filters.pop("include_deleted", False):
            stmt = stmt.where(col(Check.deleted_at).is_(None))
        return paginate(s, stmt, Check, LIST_SPEC, page, sort, filters, lambda c: _with_state(s, c))


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
    errors=(409,),
    links=LINKS,
)
def create_check(service_id: str, body: CheckCreate) -> Response:
    common = body.model_dump(exclude_unset=True, exclude={"options"})
    common["kind"] = body.kind
    built = _validate(common, dict(body.options))
    now = utcnow()
    store = get_store()
    try:
        with store.write() as s:
            svc = load_service(s, service_id)
            if _name_taken(s, svc.id, built.name):
                raise _conflict(built.name)
            chk = Check(service_id=svc.id, name=built.name, kind=built.kind, created_at=now)
            _apply(chk, built, dict(body.options), now, reschedule=True)
            s.add(chk)
            s.flush()
            state = CheckState(check_id=chk.id, service_id=svc.id, updated_at=now)
            s.add(state)
            data = check_json(chk, state)
    except sa.exc.IntegrityError as exc:
        raise _conflict(built.name) from exc
    return ok(data, 201)


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
    with get_store().read() as s:
        load_service(s, service_id)
        return ok(_with_state(s, load_check(s, service_id, check_id)))


def _update(
    service_id: str,
    check_id: str,
    common: dict[str, Any],
    options: dict[str, Any] | None,
    *,
    full: bool,
) -> Response:
    now = utcnow()
    try:
        with get_store().write() as s:
            load_service(s, service_id)
            chk = load_check(s, service_id, check_id)
            _ensure_api_managed(chk)
            stored = _stored_secrets(chk)
            if options is None:
                options = vault.merge_options(chk.options, stored)
            options = _restore_redacted(options, stored)
            merged = dict(common) if full else {**_common_of(chk), **common}
            merged.setdefault("kind", chk.kind)
            built = _validate(merged, options)
            if built.name != chk.name and _name_taken(s, service_id, built.name, chk.id):
                raise _conflict(built.name)
            _apply(chk, built, options, now, reschedule=False)
            s.add(chk)
            data = _with_state(s, chk)
    except sa.exc.IntegrityError as exc:
        raise _conflict(str(common.get("name"))) from exc
    return ok(data)


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
    now = utcnow()
    with get_store().write() as s:
        load_service(s, service_id)
        chk = load_check(s, service_id, check_id)
        _ensure_api_managed(chk)
        chk.deleted_at = now
        chk.enabled = False
        chk.updated_at = now
        s.add(chk)
        data = _with_state(s, chk)
    return ok(data)


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
    with get_store().read() as s:
        svc = load_service(s, service_id)
        chk = load_check(s, service_id, check_id)
        if not chk.enabled or not svc.enabled:
            raise ApiError(409, "disabled", "the check or its service is disabled")
    runner = current_app.extensions.get("auditor.api.run_now", default_run_now)
    run_id = runner(check_id)
    if run_id is None:
        raise ApiError(409, "not_run", "the check could not be run now; retry")
    with get_store().read() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise ApiError(409, "not_run", "the run was not stored; retry")
        return ok(run_json(run), 201)
