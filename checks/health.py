"""The ``health`` kind: a health/readiness endpoint answers in time, with the right status and body.

The reference implementation of the check contract (DESIGN §3): ``collect`` does one request
through the shared :class:`~auditor.probe.interface.Prober` (address policy, redirects, body
cap) and records facts; ``evaluate`` is pure: expected status, latency, Gatus-style
conditions (:mod:`checks.conditions`) and an ``application/health+json`` body's own status
(draft-inadarei-api-health-check).
"""

from __future__ import annotations

import http
import json
import re
from collections.abc import Mapping
from functools import lru_cache, partial
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, field_validator

from checks.base import (
    Check,
    Finding,
    HttpOptions,
    Judged,
    Outcome,
    ProbeContext,
    RunStatus,
    Severity,
    Target,
    codes_of,
    judged,
    outcome_from_findings,
)
from checks.bounds import MAX_BODY_CAP, MAX_ITEMS, BodyCap, Timeout
from checks.conditions import (
    Condition,
    ConditionError,
    evaluate,
    parse_condition,
    references_body,
)
from checks.units import parse_duration, parse_size

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: most body text kept in facts; larger JSON bodies keep only the members conditions name
FACT_BODY_LIMIT = 64 * 1024
MAX_FACT_HEADERS = 64
MAX_FACT_HEADER_VALUE = 1024
REDACTED_HEADERS = frozenset({"set-cookie"})
HEALTH_JSON = "application/health+json"
_STATUS_CLASS = re.compile(r"^[1-5]xx$")
_PASS = frozenset({"pass", "ok", "up"})
_WARN = frozenset({"warn"})
_FAIL = frozenset({"fail", "error", "down"})
_DROP = object()


def _condition(text: str) -> str:
    try:
        _parsed(text)
    except ConditionError as exc:
        raise ValueError(str(exc)) from None
    return text.strip()


ConditionText = Annotated[str, AfterValidator(_condition)]


class HealthOptions(HttpOptions):
    """Options of the ``health`` kind (DESIGN §4: ``path expect_status max_latency conditions``).

    Attributes:
        method: HTTP method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS).
        expect_status: accepted statuses: an int, "2xx", or a list of those.
        max_latency: seconds ("300ms", "2s" or a number); slower answers warn.
        conditions: Gatus-style conditions, validated when the options are parsed.
        body: request body to send, if any.
        max_redirects: redirects followed before ``health.too_many_redirects``.
        body_cap: largest response body read (after decompression): bytes or "1MB".
        body_keep: most response-body text kept in the stored facts (larger JSON bodies
            keep only the members conditions name); API-tier checks keep at most 4 KiB.
    """

    path: str = "/health"
    method: str = "GET"
    expect_status: list[int | str] = Field(
        default_factory=lambda: list[int | str]([200]), max_length=MAX_ITEMS
    )
    max_latency: Timeout | None = None
    #: each item parsed here, so a bad one is an error naming it (``conditions[1]``) at load
    conditions: list[ConditionText] = Field(default_factory=list, max_length=MAX_ITEMS)
    body: str | None = Field(None, max_length=MAX_BODY_CAP)
    max_redirects: int = Field(default=10, ge=0, le=50)
    body_cap: BodyCap = 1_000_000
    body_keep: int = Field(default=FACT_BODY_LIMIT, ge=0, le=1024 * 1024)

    @field_validator("method", mode="before")
    @classmethod
    def _method(cls, value: Any) -> str:
        if not isinstance(value, str) or value.strip().upper() not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {value!r}")
        return value.strip().upper()

    @field_validator("expect_status", mode="before")
    @classmethod
    def _expect_status(cls, value: Any) -> list[int | str]:
        items = value if isinstance(value, list | tuple) else [value]
        if not items:
            raise ValueError("expect_status needs at least one status")
        out: list[int | str] = []
        for item in items:
            if isinstance(item, str) and item.strip().isdigit():
                item = int(item.strip())
            if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
                out.append(item)
            elif isinstance(item, str) and _STATUS_CLASS.match(item.strip().lower()):
                out.append(item.strip().lower())
            else:
                raise ValueError(
                    f"expect_status takes HTTP statuses (100-599) or classes like '2xx', got {item!r}"
                )
        return out

    @field_validator("max_latency", mode="before")
    @classmethod
    def _max_latency(cls, value: Any) -> float | None:
        if value is None:
            return None
        seconds = parse_duration(value)
        if seconds <= 0:
            raise ValueError("max_latency must be greater than zero")
        return seconds

    @field_validator("conditions", mode="before")
    @classmethod
    def _conditions(cls, value: Any) -> list[Any]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValueError("conditions must be a list of strings like '[STATUS] == 200'")
        if len(value) > MAX_ITEMS:
            raise ValueError(f"conditions takes at most {MAX_ITEMS} conditions")
        return list(value)

    @field_validator("body_cap", mode="before")
    @classmethod
    def _body_cap(cls, value: Any) -> int:
        size = parse_size(value)
        if size <= 0:
            raise ValueError("body_cap must be greater than zero")
        return size


@lru_cache(maxsize=1024)
def _parsed(text: str) -> Condition:
    return parse_condition(text)


class HealthCheck(Check[HealthOptions]):
    """Health/readiness endpoint: status, latency, conditions, health+json status."""

    kind: ClassVar[str] = "health"
    Options = HealthOptions
    codes = codes_of(
        "health", "unreachable", "timeout", "tls", "status", "latency", "condition",
        "body_too_large", "too_many_redirects", "invalid_response", "blocked_by_policy",
    )  # fmt: skip
    error_codes: ClassVar[dict[str, str]] = {
        "timeout": "timeout",
        "refused": "unreachable",
        "dns": "unreachable",
        "reset": "unreachable",
        "unreachable": "unreachable",
        "tls": "tls",
        "blocked_by_policy": "blocked_by_policy",
        "body_too_large": "body_too_large",
        "too_many_redirects": "too_many_redirects",
        "invalid_response": "invalid_response",
    }

    async def collect(
        self, target: Target, options: HealthOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        url = target.url_for(options.path)
        result = await ctx.http.fetch(
            url,
            method=options.method,
            headers=dict(options.headers) or None,
            content=options.body.encode("utf-8") if options.body is not None else None,
            timeout=ctx.remaining(),
            verify=options.verify,
            ca_file=options.ca_file,
            max_redirects=options.max_redirects,
            body_cap=options.body_cap,
        )
        conditions = [_parsed(text) for text in options.conditions]
        facts: dict[str, Any] = {
            "url": url,
            "final_url": result.url,
            "status": result.status,
            "elapsed_ms": round(result.elapsed_ms, 1),
            "http_version": result.http_version,
            "peer": result.peer,
            "redirects": [hop.to_dict() for hop in result.chain[:-1]],
            "content_type": result.content_type,
            "headers": _fact_headers(result.headers),
            "body_bytes": len(result.body),
        }
        if result.timings:  # per-phase clocks, when the probe engine measures them
            facts["timings_ms"] = dict(result.timings)
        needs_body = any(references_body(c) for c in conditions)
        is_json = result.content_type == "application/json" or result.content_type.endswith("+json")
        if needs_body or is_json:
            text = result.text()
            keep = options.body_keep
            facts["body"] = text[:keep]
            facts["body_truncated"] = len(text) > keep
            if is_json or text.lstrip()[:1] in ("{", "["):
                try:
                    document = json.loads(text)
                except ValueError:
                    pass
                else:
                    if len(text) > keep:
                        document = _project(document, conditions, keep)
                    if document is not _DROP:
                        facts["body_json"] = document
        return facts

    def evaluate(self, facts: Mapping[str, Any], options: HealthOptions) -> Outcome:
        problems: list[Judged] = []
        status = facts.get("status")
        if not isinstance(status, int):
            finding = Finding("health.invalid_response", Severity.HIGH, "no HTTP status recorded")
            return outcome_from_findings([(RunStatus.FAIL, finding)], "")
        if not _status_expected(status, options.expect_status):
            expected = ", ".join(str(s) for s in options.expect_status)
            problems.append(
                _problem(
                    RunStatus.FAIL,
                    "status",
                    Severity.HIGH,
                    f"HTTP {_status_text(status)}, expected {expected}",
                )
            )
        elapsed = float(facts.get("elapsed_ms") or 0.0)
        if options.max_latency is not None and elapsed > options.max_latency * 1000.0:
            problems.append(
                _problem(
                    RunStatus.WARN,
                    "latency",
                    Severity.MEDIUM,
                    f"answered in {elapsed:.0f} ms, over the {options.max_latency * 1000:g} ms limit",
                )
            )
        if facts.get("content_type") == HEALTH_JSON:
            problems.extend(_health_json(facts))
        results = []
        for text in options.conditions:
            result = evaluate(_parsed(text), facts)
            results.append(result.to_dict())
            if not result.success:
                problems.append(
                    _problem(
                        RunStatus.FAIL,
                        "condition",
                        Severity.HIGH,
                        f"condition failed: {result.display}",
                    )
                )
        ok = f"{_status_text(status)} in {elapsed:.0f} ms"
        return outcome_from_findings(problems, ok, {"conditions": results})


_problem = partial(judged, "health")


def _status_expected(status: int, expected: list[int | str]) -> bool:
    for item in expected:
        if isinstance(item, int) and item == status:
            return True
        if isinstance(item, str) and str(status)[0] == item[0]:
            return True
    return False


def _status_text(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _health_json(facts: Mapping[str, Any]) -> list[Judged]:
    """draft-inadarei-api-health-check: the body's own ``status`` (case-insensitive)."""
    document = facts.get("body_json")
    reported = document.get("status") if isinstance(document, dict) else None
    if not isinstance(reported, str):
        return [
            _problem(
                RunStatus.WARN,
                "invalid_response",
                Severity.MEDIUM,
                "application/health+json response without a string 'status' member",
            )
        ]
    value = reported.strip().lower()
    if value in _PASS:
        return []
    if value in _WARN:
        return [_problem(RunStatus.WARN, "status", Severity.MEDIUM, "service reports status warn")]
    if value in _FAIL:
        return [
            _problem(RunStatus.FAIL, "status", Severity.HIGH, f"service reports status {value}")
        ]
    return [
        _problem(
            RunStatus.WARN,
            "invalid_response",
            Severity.MEDIUM,
            f"unknown application/health+json status {reported[:40]!r}",
        )
    ]


def _fact_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Lowercased response headers, repeated ones joined, capped; cookies never stored."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key not in out and len(out) >= MAX_FACT_HEADERS:
            continue
        if key in REDACTED_HEADERS:
            value = "<redacted>"
        out[key] = f"{out[key]}, {value}" if key in out else value
        out[key] = out[key][:MAX_FACT_HEADER_VALUE]
    return out


def _project(document: Any, conditions: list[Condition], keep_bytes: int) -> Any:
    """Keep a large JSON object's members that conditions (or health+json) name, while they
    fit in ``keep_bytes`` of JSON (else nothing: the stored body stays bounded)."""
    if not isinstance(document, dict):
        return _DROP
    keep = {"status"}
    for condition in conditions:
        for side in (condition.left, condition.right):
            ph = side.placeholder
            if ph is not None and ph.name == "BODY" and ph.path and isinstance(ph.path[0], str):
                keep.add(ph.path[0])
    kept = {k: v for k, v in document.items() if k in keep}
    return kept if len(json.dumps(kept, default=str)) <= keep_bytes else _DROP
