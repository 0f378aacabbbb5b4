"""Test, scan and drill reports → summaries: JUnit XML, SARIF 2.1.0, rollback drill records.

Pure parsers. JUnit is read with the standard library's XML parser after refusing any
DTD (no entity expansion, no external fetch); SARIF and drill records are JSON already
decoded by :mod:`checks.evidence.formats`.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from checks.evidence.errors import ReportError

#: most failed test cases / scan findings a summary lists (the counts hold them all)
TOP = 10
LEVELS = ("none", "note", "warning", "error")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_junit(text: str) -> dict[str, Any]:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ReportError("malformed", "JUnit XML with a DTD or entities is refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, col = exc.position
        end = text.rstrip().count("\n") + 1
        cut = "no element found" in str(exc) or "unclosed token" in str(exc)
        problem = "truncated" if cut and line >= end else "malformed"
        raise ReportError(problem, f"JUnit XML does not parse at line {line}, column {col}: "
                          f"{str(exc).split(':')[0]}") from exc  # fmt: skip
    if _local(root.tag) not in ("testsuites", "testsuite"):
        raise ReportError("malformed", f"root element is <{_local(root.tag)}>, not <testsuites>")
    suites = [root] if _local(root.tag) == "testsuite" else [
        e for e in root.iter() if _local(e.tag) == "testsuite"]  # fmt: skip
    tests = failures = errors = skipped = 0
    failed: list[str] = []
    for case in root.iter():
        if _local(case.tag) != "testcase":
            continue
        tests += 1
        kids = {_local(k.tag): k for k in case}
        name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
        if "failure" in kids or "error" in kids:
            kind = "failure" if "failure" in kids else "error"
            failures += kind == "failure"
            errors += kind == "error"
            if len(failed) < TOP:
                msg = (kids[kind].get("message") or "").splitlines()[0:1]
                failed.append(f"{name} ({kind}{': ' + msg[0][:120] if msg else ''})")
        elif "skipped" in kids:
            skipped += 1
    if tests == 0:
        raise ReportError("malformed", "JUnit XML holds no <testcase> (empty or cut short?)")
    names = [s.get("name", "") for s in suites if s.get("name")]
    return {"family": "tests", "tests": tests, "failures": failures, "errors": errors,
            "skipped": skipped, "passed": tests - failures - errors - skipped,
            "suites": names[:50], "failed_cases": failed}  # fmt: skip


def _severity_of(score: Any) -> str | None:
    """A CVSS-like ``security-severity`` score → its band (GitHub code scanning's)."""
    try:
        value = float(score)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    return ("critical" if value >= 9 else "high" if value >= 7 else "medium" if value >= 4
            else "low" if value > 0 else "none")  # fmt: skip


def _where(result: Mapping[str, Any]) -> str:
    for loc in result.get("locations") or []:
        phys = loc.get("physicalLocation") if isinstance(loc, Mapping) else None
        if isinstance(phys, Mapping):
            uri = (phys.get("artifactLocation") or {}).get("uri", "?")
            line = (phys.get("region") or {}).get("startLine")
            return f"{uri}:{line}" if line else str(uri)
    return "?"


SEVERITY_ORDER = ("none", "low", "medium", "high", "critical")


def parse_sarif(doc: Mapping[str, Any]) -> dict[str, Any]:
    if doc.get("version") != "2.1.0":
        raise ReportError("malformed", f"SARIF version is {doc.get('version')!r}, not '2.1.0'")
    runs = doc.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ReportError("malformed", "SARIF has no 'runs'")
    by_level = dict.fromkeys(LEVELS, 0)
    by_severity = dict.fromkeys(SEVERITY_ORDER, 0)
    found: list[dict[str, Any]] = []
    tools = []
    for r, run in enumerate(runs):
        driver = ((run.get("tool") or {}).get("driver") or {}) if isinstance(run, Mapping) else {}
        if not isinstance(driver, Mapping) or not driver.get("name"):
            raise ReportError("malformed", f"runs[{r}].tool.driver.name is missing")
        tools.append(str(driver["name"]))
        rules = {str(x.get("id")): x for x in driver.get("rules") or [] if isinstance(x, Mapping)}
        results = run.get("results")
        if not isinstance(results, list):
            raise ReportError("malformed", f"runs[{r}].results is missing")
        for res in results:
            if not isinstance(res, Mapping):
                raise ReportError("malformed", f"runs[{r}].results holds a non-object")
            rule = rules.get(str(res.get("ruleId")), {})
            level = res.get("level") or (rule.get("defaultConfiguration") or {}).get("level")
            level = level if level in LEVELS else "warning"
            props = {**(rule.get("properties") or {}), **(res.get("properties") or {})}
            severity = _severity_of(props.get("security-severity")) or str(
                props.get("issue_severity", "")).lower() or None  # fmt: skip
            severity = severity if severity in SEVERITY_ORDER else None
            by_level[level] += 1
            if severity:
                by_severity[severity] += 1
            text = (res.get("message") or {}).get("text", "") if isinstance(
                res.get("message"), Mapping) else ""  # fmt: skip
            found.append({"rule": res.get("ruleId") or "?", "level": level, "severity": severity,
                          "where": _where(res), "message": str(text)[:200]})  # fmt: skip
    found.sort(key=lambda f: (-LEVELS.index(f["level"]),
                              -SEVERITY_ORDER.index(f["severity"] or "none")))  # fmt: skip
    return {"family": "scan", "tools": tools, "results": len(found), "by_level": by_level,
            "by_severity": by_severity, "top": found[:TOP]}  # fmt: skip


def _when(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise ReportError("malformed", f"rollback drill: '{field}' must be an RFC 3339 time")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReportError(
            "malformed", f"rollback drill: '{field}' is not a time: {value!r}"
        ) from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_drill(doc: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("from", "to", "outcome", "runbook_url") if not doc.get(k)]
    if missing:
        raise ReportError("malformed", f"rollback drill lacks {', '.join(missing)}")
    if doc["outcome"] not in ("success", "failed"):
        raise ReportError("malformed", "rollback drill: 'outcome' must be 'success' or 'failed'")
    url = str(doc["runbook_url"])
    if not url.startswith(("http://", "https://")):
        raise ReportError("malformed", "rollback drill: 'runbook_url' must be an http(s) URL")
    finished = _when(doc.get("finished_at") or doc.get("started_at"), "finished_at")
    duration = doc.get("duration")
    if duration is None and doc.get("started_at") and doc.get("finished_at"):
        duration = (finished - _when(doc["started_at"], "started_at")).total_seconds()
    if duration is not None and (isinstance(duration, bool) or not isinstance(
            duration, int | float) or duration < 0):  # fmt: skip
        raise ReportError("malformed", "rollback drill: 'duration' must be seconds (a number)")
    return {"family": "rollback", "from": str(doc["from"]), "to": str(doc["to"]),
            "outcome": doc["outcome"], "runbook_url": url, "finished_at": finished.isoformat(),
            "duration_s": float(duration) if duration is not None else None}  # fmt: skip
