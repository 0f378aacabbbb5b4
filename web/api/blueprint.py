"""The API blueprint: request hooks, envelope errors, idempotency, the OpenAPI document.

Every answer under ``/api/`` — including 404/405/413 for unknown routes and methods and
500s — is in the envelope; no stack trace or internal message reaches a client (a 500
carries only the request id, which also appears in every log line of that request).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from flask import Blueprint, Response, current_app, g, request, send_from_directory
from werkzeug.exceptions import HTTPException

from auditor.store.accounts import has_scope
from auditor.store.db import Database
from auditor.store.errors import NotFound
from auditor.store.idempotency import (
    IN_FLIGHT,
    KeyRequest,
    claim_key,
    complete_key,
    release_key,
)
from auditor.store.models import utcnow
from web.api.auth import authenticate, check_rate_limit, current_token
from web.api.envelope import (
    ApiError,
    check_id,
    error_body,
    error_response,
    json_response,
    not_found,
    request_id,
)
from web.api.openapi import API_PREFIX, Operation, build_document, declare, location_of
from web.context import get_store

log = structlog.get_logger("auditor.api")

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
docs_bp = Blueprint("api_docs", __name__)
STATIC = Path(__file__).resolve().parent.parent / "static"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    431: "request_header_fields_too_large",
}


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


# -- the per-operation pipeline --------------------------------------------------------------


def run_operation(op: Operation, view: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Auth, path ids, query check, body validation, idempotency, then the view."""
    token = authenticate(op.role) if op.role is not None else None
    if op.scope is not None and (token is None or not has_scope(token, op.scope)):
        raise ApiError(403, "forbidden", f"this operation needs a token with the {op.scope} "
                       f"scope (auditor token create --scope {op.scope})")  # fmt: skip
    for p in op.params:
        if p.where == "path" and p.schema.get("format") == "uuid":
            kwargs[p.name] = check_id(kwargs[p.name], p.name)
    if op.list_spec is None:
        declared = {p.name for p in op.params if p.where == "query"}
        unknown = [n for n in request.args if n not in declared]
        if unknown:
            raise ApiError(
                400,
                "invalid_query",
                "invalid query parameters",
                [{"field": n, "message": "unknown query parameter"} for n in unknown],
            )
    key = request.headers.get("Idempotency-Key") if op.idempotent else None
    if key is None or token is None:
        return _call(op, view, kwargs)
    if not (1 <= len(key) <= 255) or not all(33 <= ord(c) <= 126 for c in key):
        raise ApiError(
            400,
            "invalid_header",
            "invalid Idempotency-Key",
            [{"field": "Idempotency-Key", "message": "must be 1-255 visible ASCII characters"}],
        )
    digest = hashlib.sha256(
        b"\0".join([op.method.encode(), request.path.encode(), request.get_data(cache=True)])
    ).hexdigest()
    store = get_store()
    claim = KeyRequest(key, token.id, op.method, request.path, digest)
    prior = claim_key(store, claim, utcnow(), IN_FLIGHT_TTL_S)
    if prior is not None:
        if prior.request_hash != digest or prior.path != request.path:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
                [{"field": "Idempotency-Key", "message": "already used for another request"}],
            )
        if prior.status_code == IN_FLIGHT:
            raise ApiError(
                409,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed; retry later",
                headers={"Retry-After": "1"},
            )
        response = current_app.response_class(
            prior.response_body, status=prior.status_code, mimetype="application/json"
        )
        response.headers["Idempotent-Replayed"] = "true"
        return _with_location(op, kwargs, response)
    try:
        response = _call(op, view, kwargs)
    except BaseException:
        with contextlib.suppress(Exception):  # keep the view's error, not the release's
            _release_key(store, key, token.id)
        raise
    if not 200 <= response.status_code < 300:
        _release_key(store, key, token.id)  # only a success is replayed; a retry runs again
        return response
    complete_key(store, key, token.id, response.status_code, response.get_data(as_text=True))
    return response


# a placeholder older than this is taken to be left by a crashed process and is taken over
IN_FLIGHT_TTL_S = 300.0


def _release_key(store: Database, key: str, principal: str) -> None:
    release_key(store, key, principal)


def _call(op: Operation, view: Callable[..., Any], kwargs: dict[str, Any]) -> Response:
    if op.body is not None:
        from web.api.schemas import validate_body

        kwargs["body"] = validate_body(op.body)
    result = view(**kwargs)
    if not isinstance(result, Response):
        raise TypeError("API views return a Response")
    return _with_location(op, kwargs, result)


def _with_location(op: Operation, path_params: dict[str, Any], response: Response) -> Response:
    """A 201 names the new resource in ``Location`` (a replayed one too)."""
    if response.status_code != 201 or op.location is None or "Location" in response.headers:
        return response
    try:
        body = json.loads(response.get_data(as_text=True))
    except ValueError:
        return response
    params = {k: v for k, v in path_params.items() if k != "body"}
    url = location_of(op, params, body.get("data") if isinstance(body, dict) else None)
    if url is not None:
        response.headers["Location"] = url
    return response


# -- request id, rate limit, logs -----------------------------------------------------------


@bp.before_request
def _before() -> None:
    check_rate_limit()


def _log_path() -> str:
    path = request.path
    if path.startswith(f"{API_PREFIX}/heartbeats/"):
        rest = path[len(f"{API_PREFIX}/heartbeats/") :]
        _, sep, tail = rest.partition("/")
        return f"{API_PREFIX}/heartbeats/<token>" + (f"/{tail}" if sep else "")
    return path


def begin_request() -> None:
    if is_api_request():
        g.api_started = time.perf_counter()
        structlog.contextvars.bind_contextvars(request_id=request_id())


def finish_request(response: Response) -> Response:
    if not is_api_request():
        return response
    response.headers["X-Request-ID"] = request_id()
    for name, value in (g.get("api_ratelimit_headers") or {}).items():
        response.headers.setdefault(name, value)
    started = g.get("api_started")
    token = current_token()
    log.info(
        "api_request",
        method=request.method,
        path=_log_path(),
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 1) if started else None,
        token_id=token.id if token else None,
    )
    return response


def end_request(_exc: BaseException | None) -> None:
    structlog.contextvars.unbind_contextvars("request_id")


# -- errors ---------------------------------------------------------------------------------


def _api_error(exc: ApiError) -> Response:
    return error_response(exc)


def _missing(exc: NotFound) -> Response:
    return error_response(not_found(exc.what))


def _http_error(exc: HTTPException) -> Response:
    code = exc.code or 500
    if code >= 500:
        return _unexpected(exc)
    message = {
        404: "no such API endpoint or resource",
        405: "method not allowed on this endpoint",
        413: "request body too large",
    }.get(code, (exc.description or "request error").split("\n")[0][:200])
    response = json_response(error_body(_HTTP_CODES.get(code, "http_error"), message), code)
    if code == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods or [])  # type: ignore[attr-defined]
    return response


def _unexpected(exc: BaseException) -> Response:
    log.exception("api_unhandled_error", error_type=type(exc).__name__)
    rid = request_id()
    return json_response(
        error_body("internal_error", f"internal error; quote request id {rid} when reporting it"),
        500,
    )


def app_http_error(exc: HTTPException) -> Any:
    """App-wide: only API paths get the envelope; everything else keeps Flask's answer."""
    if is_api_request():
        return _http_error(exc)
    return exc


bp.register_error_handler(ApiError, _api_error)
bp.register_error_handler(NotFound, _missing)
bp.register_error_handler(HTTPException, _http_error)
bp.register_error_handler(Exception, _unexpected)


# -- document and docs page -----------------------------------------------------------------


@bp.get("/openapi.json")
def openapi_json() -> Response:
    # the document never changes while the app runs: encode it once (~0.5 MB of JSON)
    cached = current_app.extensions.get("auditor.api.openapi")
    if cached is None:
        cached = current_app.extensions["auditor.api.openapi"] = json_response(
            build_document()
        ).get_data()
    response = current_app.response_class(cached, mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@docs_bp.get("/api/docs")
def docs_page() -> Response:
    response = send_from_directory(STATIC, "api-docs.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


def route(
    blueprint: Blueprint, path: str, method: str, **meta: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a view as ``method path`` (through :func:`run_operation`) and describe it in
    the OpenAPI document (:func:`~web.api.openapi.declare` takes ``meta``)."""
    op, rule = declare(path, method, **meta)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            return run_operation(op, view, kwargs)

        blueprint.add_url_rule(
            rule,
            endpoint=op.op_id,
            view_func=wrapper,
            methods=[method],
            provide_automatic_options=False,
        )
        return view

    return decorator
