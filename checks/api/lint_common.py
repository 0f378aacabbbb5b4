"""What every lint rule shares: the violation record, the context, operation patterns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from checks.api.model import Operation, Spec
from checks.api.ruleset import Conventions

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Violation:
    """One place where one rule does not hold: the rule id, a JSON pointer, what is wrong."""

    rule: str
    at: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "at": self.at or "/", "message": self.message}


@dataclass(frozen=True)
class LintContext:
    """The document, the conventions, and the per-service operation lists."""

    spec: Spec
    conv: Conventions
    public: tuple[str, ...]
    idempotent: tuple[str, ...]

    def matches(self, patterns: tuple[str, ...], op: Operation) -> bool:
        return any(op_matches(p, op) for p in patterns)

    def outside_api(self, op: Operation) -> bool:
        """Health, metrics, the document itself: not part of the enveloped, versioned API."""
        return any(
            fnmatchcase(p, pattern)
            for pattern in self.conv.unversioned_paths
            for p in (op.path, op.full_path)
        )

    def is_public(self, op: Operation) -> bool:
        if self.matches(self.public, op):
            return True
        return op.method in SAFE_METHODS and op.node.get("security") == []


def op_matches(pattern: str, op: Operation) -> bool:
    """``"POST /api/*/payments"``, ``"/health*"`` (any method) or an operationId."""
    method, sep, path = pattern.strip().partition(" ")
    if sep and method.isalpha():
        if method.upper() != op.method:
            return False
        return any(fnmatchcase(p, path.strip()) for p in (op.path, op.full_path))
    if pattern.startswith("/") or "*" in pattern:
        return any(fnmatchcase(p, pattern) for p in (op.path, op.full_path))
    return op.op_id == pattern


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def words(segment: str) -> list[str]:
    """``create-order`` / ``create_order`` / ``createOrder`` -> ``["create", "order"]``."""
    out: list[str] = []
    for part in re.split(r"[-_.]", segment):
        out.extend(w.lower() for w in _CAMEL.findall(part))
    return out


def success_statuses(responses: dict[str, Any]) -> list[str]:
    return [s for s in responses if s.startswith("2")]


def list_data(spec: Spec, op: Operation) -> bool | None:
    """Whether a GET answers a list: True, False, or None (no JSON body documented)."""
    if op.method != "GET" or not op.is_collection:
        return False
    responses = spec.responses(op)
    for status in ("200", *success_statuses(responses)):
        resp = responses.get(status)
        if resp is None:
            continue
        schema = spec.json_schema(resp)
        if schema is None:
            continue
        if spec.is_array(schema):
            return True
        data = spec.properties(schema).get("data")
        return spec.is_array(data) if data is not None else None
    return None


def list_operations(ctx: LintContext) -> list[Operation]:
    """GET operations on a collection whose success body is (or wraps) an array."""
    return [
        op
        for op in ctx.spec.operations()
        if not ctx.outside_api(op) and list_data(ctx.spec, op) is True
    ]
