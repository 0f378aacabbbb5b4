"""Operation registry and the OpenAPI 3.1 document built from it.

Every API view is registered through :func:`route`, which records the operation (path,
method, role, request and response models, list parameters, error statuses, links). The
document at ``/api/v1/openapi.json`` is rendered from that registry and from the same
pydantic models that validate requests, so nothing is maintained twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from web.api.envelope import MAX_LIMIT, MAX_PAGE, Filter, ListSpec

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path | query | header
    schema: Mapping[str, Any]
    description: str = ""
    required: bool = False
    converter: str | None = None  # flask converter for path params


@dataclass
class Operation:
    op_id: str
    method: str
    path: str
    summary: str
    tag: str
    role: str | None
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    many: bool
    list_spec: ListSpec | None
    status: int
    errors: tuple[int, ...]
    params: tuple[Param, ...]
    idempotent: bool
    links: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    description: str = ""
    #: a grant the token needs beyond its role (``evidence``)
    scope: str | None = None
    #: where a created resource lives (201's ``Location``): a path under the API prefix whose
    #: ``{id}`` is the new row's id and other ``{names}`` the request's path parameters
    location: str | None = None


OPERATIONS: list[Operation] = []

UUID_SCHEMA = {"type": "string", "format": "uuid"}


def id_param(name: str, description: str = "") -> Param:
    return Param(name, "path", UUID_SCHEMA, description or f"{name} (UUID)", required=True)


def declare(
    path: str,
    method: str,
    *,
    op_id: str,
    summary: str,
    tag: str,
    role: str | None = "viewer",
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    many: bool = False,
    list_spec: ListSpec | None = None,
    status: int = 200,
    errors: Sequence[int] = (),
    params: Sequence[Param] = (),
    links: Mapping[str, Mapping[str, Any]] | None = None,
    description: str = "",
    scope: str | None = None,
    location: str | None = None,
) -> tuple[Operation, str]:
    """Record ``method path`` for the OpenAPI document; returns it with its Flask URL rule.

    ``blueprint.route`` registers the view; this module only describes operations.
    """
    path_params = list(params)
    declared = {p.name for p in path_params}
    for name in re.findall(r"{(\w+)}", path):
        if name not in declared:
            path_params.insert(0, id_param(name))
    converters = {p.name: p.converter for p in path_params if p.where == "path"}
    rule = re.sub(
        r"{(\w+)}",
        lambda m: (
            f"<{converters[m.group(1)]}:{m.group(1)}>"
            if converters.get(m.group(1))
            else f"<{m.group(1)}>"
        ),
        path,
    )
    idempotent = method == "POST" and role is not None
    op = Operation(
        op_id=op_id,
        method=method,
        path=path,
        summary=summary,
        tag=tag,
        role=role,
        body=body,
        response=response,
        many=many,
        list_spec=list_spec,
        status=status,
        errors=tuple(errors),
        params=tuple(path_params),
        idempotent=idempotent,
        links=links or {},
        description=description,
        scope=scope,
        location=location,
    )
    OPERATIONS.append(op)

    return op, rule


# -- the document ---------------------------------------------------------------------------

META = {
    "type": "object",
    "properties": {
        "request_id": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "dropped_secrets": {
            "type": "array",
            "items": {"type": "string"},
            "description": "on updates: stored secrets dropped because the URL moved to "
            "another host (e.g. checks.api.options.headers.X-Api-Key); re-enter them "
            "in the same request to keep them",
        },
    },
    "required": ["request_id", "timestamp"],
    "additionalProperties": False,
}
PAGINATION = {
    "type": "object",
    "properties": {
        "page": {"type": "integer", "minimum": 1},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        "total_items": {"type": "integer", "minimum": 0},
        "total_pages": {"type": "integer", "minimum": 0},
        "has_next": {"type": "boolean"},
        "has_prev": {"type": "boolean"},
    },
    "required": ["page", "limit", "total_items", "total_pages", "has_next", "has_prev"],
    "additionalProperties": False,
}
ERROR = {
    "type": "object",
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                        "required": ["field", "message"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["code", "message", "details"],
            "additionalProperties": False,
        },
        "meta": {"$ref": "#/components/schemas/Meta"},
    },
    "required": ["success", "error", "meta"],
    "additionalProperties": False,
}

ERROR_TEXT = {
    400: "Malformed request (bad JSON, query parameter or id)",
    401: "Missing, invalid, expired or revoked token",
    403: "The token's role is too low",
    404: "Unknown id",
    409: "Conflicts with an existing resource",
    413: "Request body too large",
    415: "Unsupported media type (evidence: send multipart/form-data)",
    422: "Validation failed: one `details` entry per bad field",
    429: "Rate limited; see Retry-After",
    500: "Internal error: the envelope with code `internal_error` and the request id, no detail",
}

_HEADER = {"schema": {"type": "string"}}
RATE_HEADERS = {
    "RateLimit-Limit": {**_HEADER, "description": "requests allowed per window"},
    "RateLimit-Remaining": {**_HEADER, "description": "requests left now"},
    "RateLimit-Reset": {**_HEADER, "description": "seconds until the bucket is full again"},
}


def _query_schema(flt: Filter) -> dict[str, Any]:
    if flt.kind == "bool":
        return {"type": "boolean"}
    if flt.kind == "enum":
        return {"type": "string", "enum": list(flt.choices)}
    if flt.kind == "uuid":
        return dict(UUID_SCHEMA)
    if flt.kind == "datetime":
        return {"type": "string", "format": "date-time"}
    return {"type": "string", "minLength": 1, "maxLength": 255}


def _params(op: Operation) -> list[dict[str, Any]]:
    out = []
    for p in op.params:
        item: dict[str, Any] = {"name": p.name, "in": p.where, "schema": dict(p.schema)}
        if p.required or p.where == "path":
            item["required"] = True
        if p.description:
            item["description"] = p.description
        out.append(item)
    if op.list_spec is not None:
        spec = op.list_spec
        out.append(
            {
                "name": "page",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            }
        )
        out.append(
            {
                "name": "limit",
                "in": "query",
                "description": f"items per page (default 50, capped at {MAX_LIMIT})",
                "schema": {"type": "integer", "minimum": 1},
            }
        )
        out.append(
            {
                "name": "sort",
                "in": "query",
                "description": f"field to sort by, '-' for descending (default {spec.default_sort})",
                "schema": {"type": "string", "enum": spec.sort_values},
            }
        )
        for name, flt in spec.filters.items():
            item = {"name": name, "in": "query", "schema": _query_schema(flt)}
            if flt.description:
                item["description"] = flt.description
            out.append(item)
    if op.idempotent:
        out.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "description": (
                    "a retried create with the same key returns the first response; 409 "
                    "`idempotency_in_progress` while the first is still running"
                ),
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": "^[!-~]+$",
                },
            }
        )
    return out


def location_of(op: Operation, path_params: Mapping[str, Any], data: Any) -> str | None:
    """The created resource's URL for a 201 of ``op`` (None when it has no address)."""
    if op.location is None or not isinstance(data, Mapping) or "id" not in data:
        return None
    values = {k: str(v) for k, v in path_params.items()} | {"id": str(data["id"])}
    try:
        return API_PREFIX + op.location.format(**values)
    except (KeyError, IndexError):
        return None


def _allows_null(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if schema.get("const", ...) is None or None in schema.get("enum", ()):
        return True
    return any(_allows_null(s) for key in ("anyOf", "oneOf") for s in schema.get(key, ()))


def _drop_null_defaults(node: Any) -> None:
    """Remove ``default: null`` where the schema does not admit null.

    Optional request fields are ``None`` in the models when omitted ("leave as is"), but a
    client may not send null for them; a default the schema itself rejects makes the
    document invalid (openapi-spec-validator checks defaults against their schemas).
    """
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not _allows_null(node):
            del node["default"]
        for value in node.values():
            _drop_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_null_defaults(value)


def build_document() -> dict[str, Any]:
    models: dict[tuple[type[BaseModel], Literal["validation", "serialization"]], None] = {}
    for op in OPERATIONS:
        if op.body is not None:
            models[(op.body, "validation")] = None
        if op.response is not None:
            models[(op.response, "serialization")] = None
    keys = list(models)
    refs, top = models_json_schema(
        keys, ref_template="#/components/schemas/{model}", title="auditor"
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    for schema in schemas.values():
        _drop_null_defaults(schema)
    schemas["Meta"] = META
    schemas["Pagination"] = PAGINATION
    schemas["Error"] = ERROR

    error_responses = {
        str(code): {
            "description": text,
            "headers": {
                "X-Request-ID": {**_HEADER, "required": True},
                **({"Retry-After": {**_HEADER, "required": True}} if code == 429 else {}),
            },
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code, text in ERROR_TEXT.items()
    }
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        item: dict[str, Any] = {
            "operationId": op.op_id,
            "summary": op.summary,
            "tags": [op.tag],
        }
        if op.description:
            item["description"] = op.description
        params = _params(op)
        if params:
            item["parameters"] = params
        if op.role is None:
            item["security"] = []
        else:
            need = f"Role: {op.role}." + (f" Token scope: {op.scope}." if op.scope else "")
            item["description"] = (item.get("description", "") + f"\n\n{need}").strip()
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        data_schema: dict[str, Any]
        if op.response is not None:
            ref = refs[(op.response, "serialization")]
            data_schema = {"type": "array", "items": ref} if op.many else ref
        else:
            data_schema = {}
        envelope: dict[str, Any] = {
            "type": "object",
            "properties": {
                "success": {"const": True},
                "data": data_schema,
                "meta": {"$ref": "#/components/schemas/Meta"},
            },
            "required": ["success", "data", "meta"],
            "additionalProperties": False,
        }
        if op.many:
            envelope["properties"]["pagination"] = {"$ref": "#/components/schemas/Pagination"}
            envelope["required"].append("pagination")
        success: dict[str, Any] = {
            "description": "OK" if op.status == 200 else "Created",
            "headers": {"X-Request-ID": {**_HEADER, "required": True}, **RATE_HEADERS},
            "content": {"application/json": {"schema": envelope}},
        }
        if op.status == 201 and op.location:
            success["headers"]["Location"] = {
                **_HEADER,
                "required": True,
                "description": f"the new resource: {API_PREFIX}{op.location}",
            }
        if op.links:
            success["links"] = {name: dict(link) for name, link in op.links.items()}
        responses: dict[str, Any] = {str(op.status): success}
        if op.status == 201 and op.idempotent:
            # an idempotent replay answers with the first response (also 201)
            pass
        codes = {400, 429, 500}
        if op.role is not None:
            codes |= {401, 403}
        if "{" in op.path:
            codes.add(404)
        if op.body is not None:
            codes |= {413, 422}
        if op.idempotent:
            codes |= {409, 422}
        codes |= set(op.errors)
        for code in sorted(codes):
            responses[str(code)] = error_responses[str(code)]
        item["responses"] = responses
        paths.setdefault(op.path, {})[op.method.lower()] = item

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Deployment readiness auditor API",
            "version": "1.0.0",
            "description": (
                "Everything the dashboard can do. Envelope: `{success, data, meta}`; lists add "
                "`pagination`; errors `{success: false, error: {code, message, details}, meta}`. "
                "Authenticate with `Authorization: Bearer <token>` (`auditor token create`)."
            ),
        },
        "servers": [{"url": API_PREFIX}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "opaque API token, e.g. from `auditor token create`",
                }
            },
        },
        "security": [{"bearerAuth": []}],
    }
