"""Rules on what operations answer: envelope, pagination, status codes, rate-limit headers (pure)."""

from __future__ import annotations

from typing import Any

from checks.api.lint_common import (
    LintContext,
    Violation,
    list_operations,
    success_statuses,
)
from checks.api.model import Operation, pointer


def _api_ops(ctx: LintContext) -> list[Operation]:
    return [op for op in ctx.spec.operations() if not ctx.outside_api(op)]


def _resp_at(op: Operation, status: str) -> str:
    return pointer("paths", op.path, op.method.lower(), "responses", status)


def pagination_params(ctx: LintContext) -> list[Violation]:
    conv, out = ctx.conv, []
    for op in list_operations(ctx):
        query = op.param_names("query")
        paged = query & set(conv.page_params) and query & set(conv.size_params)
        if not paged and not query & set(conv.cursor_params):
            out.append(
                Violation(
                    "pagination.params",
                    op.where,
                    f"{op.method} {op.path} lists without pagination parameters "
                    f"({conv.page_params[0]} + {'/'.join(conv.size_params)}, or "
                    f"{'/'.join(conv.cursor_params)})",
                )
            )
    return out


def _meta_names(ctx: LintContext, schema: Any) -> set[str]:
    spec = ctx.spec
    top = spec.properties(schema)
    names: set[str] = set()
    for holder in (top.get("meta"), top.get("pagination")):
        inner = spec.properties(holder)
        names |= set(inner)
        names |= set(spec.properties(inner.get("pagination")))
    return names


def pagination_meta(ctx: LintContext) -> list[Violation]:
    out = []
    for op in list_operations(ctx):
        responses = ctx.spec.responses(op)
        status = "200" if "200" in responses else (success_statuses(responses) or ["200"])[0]
        schema = ctx.spec.json_schema(responses.get(status, {})) or {}
        names = _meta_names(ctx, schema)
        missing = [group[0] for group in ctx.conv.meta_fields if not names & set(group)]
        if missing:
            out.append(
                Violation(
                    "pagination.meta",
                    _resp_at(op, status),
                    f"{op.method} {op.path} returns no pagination metadata "
                    f"({', '.join(missing)} missing from meta/pagination)",
                )
            )
    return out


def envelope(ctx: LintContext) -> list[Violation]:
    out = []
    need = ctx.conv.success_fields
    for op in _api_ops(ctx):
        for status, resp in ctx.spec.responses(op).items():
            if not status.startswith("2") or status == "204":
                continue
            schema = ctx.spec.json_schema(resp)
            if schema is None:
                continue
            props = ctx.spec.properties(schema)
            missing = [f for f in need if f not in props]
            if missing:
                out.append(
                    Violation(
                        "responses.envelope",
                        _resp_at(op, status),
                        f"{op.method} {op.path} {status} body lacks the envelope "
                        f"({', '.join(missing)} missing)",
                    )
                )
    return out


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5") or status == "default"


def error_envelope(ctx: LintContext) -> list[Violation]:
    out = []
    conv, spec = ctx.conv, ctx.spec
    for op in _api_ops(ctx):
        for status, resp in spec.responses(op).items():
            if not _is_error(status):
                continue
            schema = spec.json_schema(resp)
            problem = None
            if schema is None:
                problem = "documents no JSON body"
            else:
                props = spec.properties(schema)
                missing = [f for f in conv.error_fields if f not in props]
                inner = spec.properties(props.get("error"))
                missing += [f"error.{f}" for f in conv.error_object_fields if f not in inner]
                if missing:
                    problem = f"lacks the error envelope ({', '.join(missing)} missing)"
            if problem:
                out.append(
                    Violation(
                        "responses.error-envelope",
                        _resp_at(op, status),
                        f"{op.method} {op.path} {status} {problem}",
                    )
                )
    return out


def _applies(when: str, ctx: LintContext, op: Operation) -> bool:
    spec = ctx.spec
    if when == "always":
        return True
    if when == "body":
        return spec.has_body(op)
    if when == "input":
        return spec.has_body(op) or bool(op.params)
    if when == "path_params":
        return op.has_path_params
    if when == "secured":
        security = spec.security_of(op)
        return not ctx.is_public(op) and bool(security) and all(bool(r) for r in security or [])
    if when == "create":
        return op.method == "POST" and op.is_collection
    return False


def _documented(status: str, responses: dict[str, Any]) -> bool:
    return status in responses or f"{status[0]}XX" in {s.upper() for s in responses}


def error_statuses(ctx: LintContext) -> list[Violation]:
    out = []
    for op in _api_ops(ctx):
        responses = ctx.spec.responses(op)
        missing = [
            status
            for status, when in sorted(ctx.conv.error_statuses.items())
            if _applies(when, ctx, op) and not _documented(status, responses)
        ]
        if missing:
            out.append(
                Violation(
                    "responses.error-statuses",
                    pointer("paths", op.path, op.method.lower(), "responses"),
                    f"{op.method} {op.path} does not document {', '.join(missing)}",
                )
            )
    return out


def create_201(ctx: LintContext) -> list[Violation]:
    out = []
    for op in _api_ops(ctx):
        if op.method != "POST" or not op.is_collection:
            continue
        responses = ctx.spec.responses(op)
        if "201" not in responses and "202" not in responses:
            got = ", ".join(success_statuses(responses)) or "no 2xx"
            out.append(
                Violation(
                    "responses.create-201",
                    pointer("paths", op.path, "post", "responses"),
                    f"POST {op.path} creates but documents {got}, not 201",
                )
            )
        elif "201" in responses and "location" not in ctx.spec.header_names(responses["201"]):
            out.append(
                Violation(
                    "responses.create-location",
                    _resp_at(op, "201"),
                    f"POST {op.path} 201 documents no Location header",
                )
            )
    return out


def delete_204(ctx: LintContext) -> list[Violation]:
    out = []
    for op in _api_ops(ctx):
        responses = ctx.spec.responses(op)
        if op.method == "DELETE" and "204" not in responses and "202" not in responses:
            got = ", ".join(success_statuses(responses)) or "no 2xx"
            out.append(
                Violation(
                    "responses.delete-204",
                    pointer("paths", op.path, "delete", "responses"),
                    f"DELETE {op.path} documents {got}, not 204",
                )
            )
    return out


def rate_limit_headers(ctx: LintContext) -> list[Violation]:
    out = []
    known = {h.lower() for h in ctx.conv.rate_limit_headers}
    for op in ctx.spec.operations():
        resp = ctx.spec.responses(op).get("429")
        if resp is None:
            continue
        names = ctx.spec.header_names(resp)
        if not names & known and not any(
            n.startswith(("ratelimit-", "x-ratelimit-")) for n in names
        ):
            out.append(
                Violation(
                    "responses.rate-limit-headers",
                    _resp_at(op, "429"),
                    f"{op.method} {op.path} 429 documents neither Retry-After nor RateLimit headers",
                )
            )
    return out


RULES = {
    "pagination.params": pagination_params,
    "pagination.meta": pagination_meta,
    "responses.envelope": envelope,
    "responses.error-envelope": error_envelope,
    "responses.error-statuses": error_statuses,
    "responses.create-201": create_201,
    "responses.create-location": create_201,  # one pass reports both rules
    "responses.delete-204": delete_204,
    "responses.rate-limit-headers": rate_limit_headers,
}
