"""The ``logging`` verdict (pure): recent lines, in JSON, with the fields, no traces at info."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from checks.base import Judged, Outcome, RunStatus, Severity, judged, outcome_from_findings
from checks.bounds import format_duration
from checks.logs.options import LoggingOptions

_problem = partial(judged, "logging")
STORES = {"loki": "Loki", "elasticsearch": "Elasticsearch", "opensearch": "OpenSearch"}


def _share(n: int, of: int) -> str:
    return "none" if n == 0 else f"{round(100 * n / of)}%"


def _structure(sample: Mapping[str, Any], options: LoggingOptions) -> list[Judged]:
    lines, structured = int(sample.get("lines") or 0), int(sample.get("json") or 0)
    if lines == 0:
        return []
    out: list[Judged] = []
    if structured < options.min_structured * lines:
        out.append(
            _problem(
                RunStatus.WARN, "unstructured", Severity.MEDIUM,
                f"{_share(lines - structured, lines)} of the {lines} newest lines are not JSON: "
                "log one JSON object per line (python-json-logger, structlog, pino, zap …)",
            )
        )  # fmt: skip
    if structured == 0:
        return out
    counts = sample.get("fields") or {}
    missing = []
    for field in options.require:
        have = int(counts.get(field) or 0)
        enough = have > 0 if field == "request_id" else have >= options.min_structured * structured
        if not enough:
            missing.append(f"{field} (on {_share(have, structured)} of the JSON lines)")
    if missing:
        out.append(
            _problem(
                RunStatus.WARN, "missing_fields", Severity.MEDIUM,
                f"log lines lack {', '.join(missing)}: add them to every line "
                "(the request id from the incoming X-Request-ID, or a new one)",
            )
        )  # fmt: skip
    traces = int(sample.get("stack_traces_at_info") or 0)
    if traces:
        kinds = ", ".join(sample.get("stack_trace_kinds") or []) or "stack trace"
        out.append(
            _problem(
                RunStatus.WARN, "stack_trace_at_info", Severity.MEDIUM,
                f"{traces} info-level line{'s' * (traces != 1)} hold a stack trace ({kinds}): "
                "log exceptions at error level",
            )
        )  # fmt: skip
    return out


def evaluate(facts: Mapping[str, Any], options: LoggingOptions) -> Outcome:
    store = STORES.get(str(facts.get("backend")), "the log store")
    window = format_duration(float(facts.get("window_s") or options.window))
    count = int(facts.get("count") or 0)
    problems: list[Judged] = []
    if count < options.min_lines:
        problems.append(
            _problem(
                RunStatus.FAIL, "no_logs", Severity.HIGH,
                f"{store} holds {count} line{'s' * (count != 1)} for {facts.get('query')} in "
                f"the last {window} (at least {options.min_lines} expected): make the service "
                "log to stdout and the shipper (Promtail, Alloy, Fluent Bit, Filebeat) send "
                "them with these labels",
            )
        )  # fmt: skip
    problems.extend(_structure(facts.get("sample") or {}, options))
    sample = facts.get("sample") or {}
    ok = (
        f"{count} lines in the last {window}; {sample.get('json', 0)}/{sample.get('lines', 0)} "
        "sampled lines structured"
    )
    return outcome_from_findings(problems, ok)
