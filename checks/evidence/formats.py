"""Which format a report is in (sniffed or declared) and its parsed summary.

:func:`parse_report` is the one entry point: bytes (and an optional declared format) in, a
``(format, summary)`` pair out, or a :class:`ReportError` saying what is wrong — malformed,
truncated, an unknown format, or content that is not the declared format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from checks.evidence import load, reports
from checks.evidence.errors import ReportError

#: format name (DESIGN §10) -> the family of evidence it is
FORMATS: dict[str, str] = {
    "k6-summary": "load",
    "locust-csv": "load",
    "locust-json": "load",
    "jmeter-jtl": "load",
    "wrk": "load",
    "oha-json": "load",
    "junit-xml": "tests",
    "sarif": "scan",
    "rollback-drill": "rollback",
}
FAMILIES = ("load", "tests", "scan", "rollback")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at_end = exc.pos >= len(text.rstrip()) - 1 or exc.msg.startswith("Unterminated")
        raise ReportError("truncated" if at_end else "malformed",
                          f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                          ) from exc  # fmt: skip


def _sniff_json(doc: Any) -> str:
    if isinstance(doc, list):
        return "locust-json"
    if not isinstance(doc, Mapping):
        raise ReportError("unknown_format", "a JSON report must be an object or a list")
    if "runs" in doc and ("version" in doc or "$schema" in doc):
        return "sarif"
    if "metrics" in doc:
        return "k6-summary"
    if "latencyPercentiles" in doc or ("summary" in doc and "statusCodeDistribution" in doc):
        return "oha-json"
    if "outcome" in doc or "runbook_url" in doc:
        return "rollback-drill"
    raise ReportError("unknown_format", "JSON report is none of k6, Locust, oha, SARIF or a "
                      "rollback drill record")  # fmt: skip


def sniff(text: str) -> str:
    """The format ``text`` is written in, from its first characters."""
    head = text.lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        return "junit-xml"
    if head.startswith(("{", "[")):
        return _sniff_json(_json(text))
    first = head.split("\n", 1)[0]
    if "Request Count" in first and "Name" in first:
        return "locust-csv"
    if "timeStamp" in first and "elapsed" in first:
        return "jmeter-jtl"
    if " requests in " in head or head.startswith("Running "):
        return "wrk"
    raise ReportError("unknown_format", "not a known report format (k6, Locust, JMeter, wrk, "
                      "oha, JUnit XML, SARIF, rollback drill)")  # fmt: skip


_TEXT: dict[str, Callable[[str], dict[str, Any]]] = {
    "locust-csv": load.parse_locust_csv,
    "jmeter-jtl": load.parse_jmeter,
    "wrk": load.parse_wrk,
    "junit-xml": reports.parse_junit,
}
_JSON: dict[str, Callable[[Any], dict[str, Any]]] = {
    "k6-summary": load.parse_k6,
    "locust-json": load.parse_locust_json,
    "oha-json": load.parse_oha,
    "sarif": reports.parse_sarif,
    "rollback-drill": reports.parse_drill,
}


def parse_report(raw: bytes, declared: str | None = None) -> tuple[str, dict[str, Any]]:
    """``(format, summary)`` of a report; ``declared`` must match what the content is."""
    if not raw.strip():
        raise ReportError("malformed", "the report is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReportError("malformed", f"the report is not UTF-8 text (byte {exc.start})") from exc
    if declared is not None and declared not in FORMATS:
        raise ReportError("unknown_format",
                          f"format {declared!r} is not one of {', '.join(FORMATS)}")  # fmt: skip
    found = sniff(text)
    if declared is not None and declared != found:
        raise ReportError("wrong_format", f"the report is {found}, not the declared {declared}")
    fmt = declared or found
    if fmt in _TEXT:
        return fmt, _TEXT[fmt](text)
    doc = _json(text)
    if fmt != "locust-json" and not isinstance(doc, Mapping):
        raise ReportError("malformed", f"a {fmt} report must be a JSON object")
    return fmt, _JSON[fmt](doc)
