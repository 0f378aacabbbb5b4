"""The response envelope of DESIGN §7, errors, pagination, sorting and filtering helpers."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, g, request

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
#: the last page a list may ask for (with ``limit`` 200: the first 200 million rows)
MAX_PAGE = 1_000_000


class ApiError(Exception):
    """An error answered in the envelope; ``details`` holds one entry per bad field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = [dict(d) for d in details]
        self.headers = dict(headers or {})


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def request_id() -> str:
    rid = g.get("api_request_id")
    if rid is None:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if REQUEST_ID_RE.match(incoming) else str(uuid.uuid4())
        g.api_request_id = rid
    return str(rid)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def meta() -> dict[str, Any]:
    return {"request_id": request_id(), "timestamp": now_iso()}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(
    body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    text = json.dumps(body, default=_json_default, ensure_ascii=False)
    response = current_app.response_class(text, status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def ok(
    data: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
) -> Response:
    body = {"success": True, "data": data, "meta": {**meta(), **(extra_meta or {})}}
    return json_response(body, status, headers)


def error_body(
    code: str, message: str, details: Sequence[Mapping[str, str]] = ()
) -> dict[str, Any]:
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": [dict(d) for d in details]},
        "meta": meta(),
    }


def error_response(exc: ApiError) -> Response:
    return json_response(error_body(exc.code, exc.message, exc.details), exc.status, exc.headers)


# -- lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _int_arg(
    name: str, default: int, minimum: int, maximum: int | None = None
) -> tuple[int, dict[str, str] | None]:
    raw = request.args.get(name)
    if raw is None:
        return default, None
    if not re.fullmatch(r"\+?[0-9]{1,40}", raw.strip()):
        return default, {"field": name, "message": "must be a positive integer"}
    value = int(raw)
    if value < minimum:
        return default, {"field": name, "message": f"must be at least {minimum}"}
    if maximum is not None and value > maximum:
        return default, {"field": name, "message": f"must be at most {maximum}"}
    return value, None


def listing(items: list[Any], page: Page, total: int) -> Response:
    pages = math.ceil(total / page.limit) if total else 0
    body = {
        "success": True,
        "data": items,
        "pagination": {
            "page": page.page,
            "limit": page.limit,
            "total_items": total,
            "total_pages": pages,
            "has_next": page.page < pages,
            "has_prev": page.page > 1,
        },
        "meta": meta(),
    }
    return json_response(body)


# -- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """One ``?name=value`` filter: how to parse the value and how to apply it."""

    kind: str = "string"  # string | enum | bool | uuid | datetime
    choices: tuple[str, ...] = ()
    description: str = ""
    field: str = ""  # the model field it compares (``auditor.store.listing.Criterion``)
    op: str = "eq"  # eq | ge | lt | set | a named predicate of ``auditor.store.listing``


@dataclass(frozen=True)
class ListSpec:
    """What a list endpoint accepts: sortable fields, filters; used by the OpenAPI builder too."""

    sort_fields: tuple[str, ...]
    default_sort: str
    filters: Mapping[str, Filter] = field(default_factory=dict)

    @property
    def sort_values(self) -> list[str]:
        return [v for f in self.sort_fields for v in (f, "-" + f)]


BOOL_VALUES = {"true": True, "false": False}


def parse_datetime(raw: str) -> datetime | None:
    text = raw.strip()
    if not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", text
    ):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("z", "Z").replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.astimezone(UTC)


def parse_list_args(spec: ListSpec, extra: Iterable[str] = ()) -> tuple[Page, str, dict[str, Any]]:
    """Validate ``page``, ``limit``, ``sort`` and the declared filters; reject anything else."""
    problems: list[dict[str, str]] = []
    page_no, err = _int_arg("page", 1, 1, MAX_PAGE)
    if err:
        problems.append(err)
    limit, err = _int_arg("limit", DEFAULT_LIMIT, 1)
    if err:
        problems.append(err)
    limit = min(limit, MAX_LIMIT)
    sort = request.args.get("sort", spec.default_sort)
    if sort not in spec.sort_values:
        problems.append(
            {"field": "sort", "message": f"must be one of {', '.join(spec.sort_values)}"}
        )
    values: dict[str, Any] = {}
    allowed = {"page", "limit", "sort", *spec.filters, *extra}
    for name in request.args:
        if name not in allowed:
            problems.append({"field": name, "message": "unknown query parameter"})
    for name, flt in spec.filters.items():
        raw = request.args.get(name)
        if raw is None:
            continue
        if len(request.args.getlist(name)) > 1:
            problems.append({"field": name, "message": "give this filter once"})
            continue
        value, message = parse_filter_value(flt, raw)
        if message:
            problems.append({"field": name, "message": message})
        else:
            values[name] = value
    if problems:
        raise ApiError(400, "invalid_query", "invalid query parameters", problems)
    return Page(page_no, limit), sort, values


def parse_filter_value(flt: Filter, raw: str) -> tuple[Any, str | None]:
    if flt.kind == "bool":
        if raw not in BOOL_VALUES:
            return None, "must be true or false"
        return BOOL_VALUES[raw], None
    if flt.kind == "enum":
        if raw not in flt.choices:
            return None, f"must be one of {', '.join(flt.choices)}"
        return raw, None
    if flt.kind == "uuid":
        if not is_uuid(raw):
            return None, "must be a UUID"
        return raw.lower(), None
    if flt.kind == "datetime":
        value = parse_datetime(raw)
        if value is None:
            return None, "must be an RFC 3339 date-time, e.g. 2026-01-31T12:00:00Z"
        return value, None
    if not raw or len(raw) > 255:
        return None, "must be 1 to 255 characters"
    return raw, None


UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


def is_uuid(value: str) -> bool:
    return bool(UUID_RE.match(value))


def check_id(value: str, field_name: str = "id") -> str:
    """A path id: malformed is 400 (DESIGN §7), well-formed ids are compared lower-case."""
    if not is_uuid(value):
        raise ApiError(
            400, "invalid_id", "malformed id", [{"field": field_name, "message": "must be a UUID"}]
        )
    return value.lower()
