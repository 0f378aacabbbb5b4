"""Rules on authentication, idempotency and operation ids (pure)."""

from __future__ import annotations

from collections.abc import Callable

from checks.api.lint_common import LintContext, Violation
from checks.api.model import pointer


def _schemes_at(ctx: LintContext) -> str:
    return (
        pointer("securityDefinitions")
        if ctx.spec.swagger
        else pointer("components", "securitySchemes")
    )


def schemes_declared(ctx: LintContext) -> list[Violation]:
    spec = ctx.spec
    kinds = {name: spec.scheme_kind(s) for name, s in spec.security_schemes().items()}
    if any(k in ctx.conv.security_schemes for k in kinds.values()):
        return []
    what = ", ".join(f"{n} ({k})" for n, k in kinds.items()) or "none"
    return [
        Violation(
            "security.schemes-declared",
            _schemes_at(ctx),
            f"no accepted security scheme is declared (declared: {what}; accepted: "
            f"{', '.join(ctx.conv.security_schemes)})",
        )
    ]


def operations_protected(ctx: LintContext) -> list[Violation]:
    out = []
    declared = set(ctx.spec.security_schemes())
    for op in ctx.spec.operations():
        if ctx.is_public(op):
            continue
        requirements = ctx.spec.security_of(op)
        problem = None
        if not requirements:
            problem = "has no security requirement"
        elif any(not isinstance(r, dict) or not r for r in requirements):
            problem = "allows anonymous access (an empty security requirement)"
        else:
            unknown = sorted({str(n) for r in requirements for n in r} - declared)
            if unknown:
                problem = f"names undeclared security scheme(s) {', '.join(unknown)}"
        if problem:
            out.append(
                Violation(
                    "security.operations-protected", op.where, f"{op.method} {op.path} {problem}"
                )
            )
    return out


def idempotency_key(ctx: LintContext) -> list[Violation]:
    out = []
    header = ctx.conv.idempotency_header.lower()
    for op in ctx.spec.operations():
        if not ctx.matches(ctx.idempotent, op):
            continue
        if header not in {n.lower() for n in op.param_names("header")}:
            out.append(
                Violation(
                    "operations.idempotency-key",
                    op.where,
                    f"{op.method} {op.path} does not accept an {ctx.conv.idempotency_header} header",
                )
            )
    return out


def unique_ids(ctx: LintContext) -> list[Violation]:
    out: list[Violation] = []
    first: dict[str, str] = {}
    for op in ctx.spec.operations():
        if op.op_id is None:
            continue
        if op.op_id in first:
            out.append(
                Violation(
                    "operations.unique-ids",
                    pointer("paths", op.path, op.method.lower(), "operationId"),
                    f"operationId {op.op_id!r} of {op.method} {op.path} is also used by "
                    f"{first[op.op_id]}",
                )
            )
        else:
            first[op.op_id] = f"{op.method} {op.path}"
    return out


RULES: dict[str, Callable[[LintContext], list[Violation]]] = {
    "security.schemes-declared": schemes_declared,
    "security.operations-protected": operations_protected,
    "operations.idempotency-key": idempotency_key,
    "operations.unique-ids": unique_ids,
}
