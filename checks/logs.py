"""The ``logging`` check: the log store received recent, structured lines from the service.

``collect`` asks the store's own query API through the shared prober — Loki
``/loki/api/v1/query_range`` (a LogQL selector, newest first) or Elasticsearch / OpenSearch
``/<index>/_search`` (a query string, newest first) — for the lines of the last ``window``;
``evaluate`` judges a sample of them: at least ``min_lines``, JSON objects carrying a level,
a timestamp, a message and a request id (each under one of several usual names), and no
stack trace logged at ``info`` or below. Only verdicts and counts are kept in the facts,
never log lines (they may hold personal data).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

from pydantic import Field, field_validator

from checks.base import (
    Check,
    Judged,
    Options,
    Outcome,
    ProbeContext,
    ProbeError,
    RunStatus,
    Severity,
    Target,
    codes_of,
    judged,
    outcome_from_findings,
)
from checks.bounds import Age

_find = partial(judged, "logging")
#: field -> the names it goes by in common loggers (structlog, logrus, zap, pino, ECS)
FIELDS: dict[str, tuple[str, ...]] = {
    "level": ("level", "lvl", "severity", "log.level", "levelname"),
    "timestamp": ("timestamp", "ts", "time", "@timestamp", "asctime"),
    "message": ("message", "msg", "event"),
    "request_id": ("request_id", "requestId", "req_id", "trace_id", "traceId", "x_request_id"),
}
_TRACES = ("Traceback (most recent call last)", "\n\tat ", "Exception in thread ", "goroutine ")
_QUIET = {"info", "debug", "trace", "notice", "information", "30", "20", "10"}


class LoggingOptions(Options):
    """DESIGN §4 keys ``backend url query window min_lines`` plus ``index``, ``sample``,
    ``required_fields`` and ``token_env`` (config file only)."""

    backend: Literal["loki", "elasticsearch"]
    url: str
    query: str
    index: str = "logs-*"
    window: Age = 900.0
    min_lines: int = Field(1, ge=1, le=100_000)
    sample: int = Field(200, ge=1, le=1000)
    required_fields: list[Literal["level", "timestamp", "message", "request_id"]] = Field(
        ["level", "timestamp", "message", "request_id"], max_length=4
    )
    token_env: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")


def _field(doc: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in doc:
            return doc[name]
        head, _, rest = name.partition(".")
        if rest and isinstance(doc.get(head), Mapping) and rest in doc[head]:
            return doc[head][rest]
    return None


def judge_lines(lines: list[Any], required: list[str]) -> dict[str, Any]:
    """Counts over a sample: structured lines, each required field's misses, quiet traces."""
    structured, misses, traces = 0, dict.fromkeys(required, 0), 0
    for line in lines:
        doc = line if isinstance(line, Mapping) else None
        if doc is None and isinstance(line, str):
            try:
                parsed = json.loads(line)
                doc = parsed if isinstance(parsed, Mapping) else None
            except ValueError:
                doc = None
        text = line if isinstance(line, str) else json.dumps(line, default=str)
        if doc is None:
            continue
        structured += 1
        for name in required:
            if _field(doc, FIELDS[name]) in (None, ""):
                misses[name] += 1
        level = str(_field(doc, FIELDS["level"]) or "").lower()
        if level in _QUIET and any(t in text.replace("\\n", "\n").replace("\\t", "\t")
                                   for t in _TRACES):  # fmt: skip
            traces += 1
    return {"sampled": len(lines), "structured": structured, "missing": misses,
            "traces_at_info": traces}  # fmt: skip


class LoggingCheck(Check[LoggingOptions]):
    kind = "logging"
    Options: ClassVar[type[LoggingOptions]] = LoggingOptions  # type: ignore[misc]
    codes = codes_of("logging", "too_few_lines", "unstructured", "missing_field",
                     "stack_trace_at_info", "unreachable", "invalid_response")  # fmt: skip
    error_codes: ClassVar[dict[str, str]] = {
        "refused": "unreachable", "dns": "unreachable", "reset": "unreachable",
        "tls": "unreachable", "blocked_by_policy": "unreachable",
    }  # fmt: skip

    async def collect(
        self, target: Target, options: LoggingOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        headers = {}
        if options.token_env:
            token = ctx.environ.get(options.token_env)
            if not token:
                raise ProbeError("config", f"token_env {options.token_env} is not set")
            headers["Authorization"] = f"Bearer {token}"
        now = time.time()
        if options.backend == "loki":
            params = {"query": options.query, "start": str(int((now - options.window) * 1e9)),
                      "end": str(int(now * 1e9)), "limit": str(options.sample),
                      "direction": "backward"}  # fmt: skip
            doc = await self._get(
                ctx, f"{options.url}/loki/api/v1/query_range?{urlencode(params)}", headers
            )
            streams = (doc.get("data") or {}).get("result") or []
            lines = [v[1] for s in streams for v in s.get("values") or []][: options.sample]
            total = len(lines)
        else:
            q = f"({options.query}) AND @timestamp:>=now-{int(options.window)}s"
            params = {"q": q, "size": str(options.sample), "sort": "@timestamp:desc",
                      "track_total_hits": "true"}  # fmt: skip
            doc = await self._get(
                ctx, f"{options.url}/{options.index}/_search?{urlencode(params)}", headers
            )
            hits = doc.get("hits") or {}
            lines = [h.get("_source") for h in hits.get("hits") or []]
            tot = hits.get("total")
            total = int(tot.get("value", 0) if isinstance(tot, Mapping) else tot or 0)
        return {"backend": options.backend, "lines": total,
                **judge_lines(lines, list(options.required_fields))}  # fmt: skip

    async def _get(self, ctx: ProbeContext, url: str, headers: dict[str, str]) -> Mapping[str, Any]:
        res = await ctx.http.fetch(url, headers=headers or None, timeout=ctx.remaining(),
                                   body_cap=8 * 1024 * 1024)  # fmt: skip
        if res.status != 200:
            raise ProbeError("invalid_response", f"the log store answered HTTP {res.status}")
        try:
            doc = json.loads(res.body)
        except ValueError as exc:
            raise ProbeError("invalid_response", "the log store did not answer JSON") from exc
        if not isinstance(doc, Mapping):
            raise ProbeError("invalid_response", "the log store answered a non-object")
        return doc

    def evaluate(self, facts: Mapping[str, Any], options: LoggingOptions) -> Outcome:
        found: list[Judged] = []
        lines, sampled, structured = facts["lines"], facts["sampled"], facts["structured"]
        window = f"{options.window / 60:g} min"
        if lines < options.min_lines:
            found.append(_find(RunStatus.FAIL, "too_few_lines", Severity.HIGH,
                               f"{lines} log line(s) in the last {window}, "
                               f"needs {options.min_lines}"))  # fmt: skip
        if sampled and structured < sampled:
            found.append(_find(RunStatus.FAIL, "unstructured", Severity.MEDIUM,
                               f"{sampled - structured} of {sampled} sampled lines are not JSON "
                               "objects"))  # fmt: skip
        for name, missing in (facts.get("missing") or {}).items():
            if structured and missing:
                found.append(_find(RunStatus.WARN, "missing_field", Severity.LOW,
                                   f"{missing} of {structured} structured lines lack a {name} "
                                   f"({' / '.join(FIELDS[name][:3])})"))  # fmt: skip
        if facts.get("traces_at_info"):
            found.append(_find(RunStatus.WARN, "stack_trace_at_info", Severity.LOW,
                               f"{facts['traces_at_info']} line(s) at info or below carry a "
                               "stack trace; log them at error"))  # fmt: skip
        return outcome_from_findings(
            found, f"{lines} structured log line(s) in the last {window} ({options.backend})"
        )
