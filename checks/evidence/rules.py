"""Pass criteria from a check's config (``p95 = "<= 300ms"``) judged against a report summary.

Pure. A rule is a metric, a comparison and a value in the metric's unit: durations
(``"300ms"``, ``"5m"``), percentages (``"0.1%"``) or plain numbers, a level (``max_level``)
or a name (``suite``). Rules are given as a table (``rules = { p95 = "<= 300ms" }``) or as
a list of sentences (``rules = ["p95 <= 300ms", "rps >= 500"]``). Each family also has
rules that always apply: a k6 threshold crossed, a failed test, a failed drill.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checks.evidence.reports import LEVELS, SEVERITY_ORDER
from checks.units import parse_duration

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq,
}  # fmt: skip
_SENTENCE = re.compile(r"^\s*([a-z_0-9]+)\s*(<=|>=|==|<|>|=)\s*\"?([^\"]+?)\"?\s*$")
_EXPR = re.compile(r"^\s*(<=|>=|==|<|>)\s*(.+?)\s*$")

#: metric -> (family, summary key, unit) ; unit: ms | s | rate | count
METRICS: dict[str, tuple[str, str, str]] = {
    "p50": ("load", "p50_ms", "ms"),
    "p90": ("load", "p90_ms", "ms"),
    "p95": ("load", "p95_ms", "ms"),
    "p99": ("load", "p99_ms", "ms"),
    "error_rate": ("load", "error_rate", "rate"),
    "rps": ("load", "rps", "count"),
    "requests": ("load", "requests", "count"),
    "duration": ("load", "duration_s", "s"),
    "tests": ("tests", "tests", "count"),
    "failures": ("tests", "failures", "count"),
    "errors": ("tests", "errors", "count"),
    "skipped": ("tests", "skipped", "count"),
    "findings": ("scan", "results", "count"),
    "drill_duration": ("rollback", "duration_s", "s"),
}
#: rules that are not comparisons: family -> names
NAMED = {"suite": "tests", "max_level": "scan", "max_severity": "scan"}


@dataclass(frozen=True)
class Rule:
    metric: str
    op: str
    value: float | str
    text: str

    def describe(self) -> str:
        return self.text


def _value(unit: str, raw: str) -> float:
    raw = raw.strip()
    if unit == "ms":
        return parse_duration(raw) * 1000
    if unit == "s":
        return parse_duration(raw)
    if unit == "rate":
        return float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    return float(raw)


def _one(metric: str, expr: Any) -> Rule:
    if metric in NAMED:
        if not isinstance(expr, str) or not expr.strip():
            raise ValueError(f"{metric}: expected a name, got {expr!r}")
        value = expr.strip().strip('"').lstrip("=").strip()
        if metric == "max_level" and value not in LEVELS:
            raise ValueError(f"max_level: one of {', '.join(LEVELS)}, got {value!r}")
        if metric == "max_severity" and value not in SEVERITY_ORDER:
            raise ValueError(f"max_severity: one of {', '.join(SEVERITY_ORDER)}, got {value!r}")
        return Rule(metric, "==", value, f"{metric} = {value}")
    if metric not in METRICS:
        known = ", ".join([*METRICS, *NAMED])
        raise ValueError(f"unknown rule {metric!r} (known: {known})")
    if isinstance(expr, bool):
        raise ValueError(f'{metric}: expected a comparison like "<= 300ms", got a boolean')
    if isinstance(expr, int | float):
        expr = f"<= {expr}"
    match = _EXPR.match(str(expr))
    if not match:
        raise ValueError(f'{metric}: expected a comparison like "<= 300ms", got {expr!r}')
    op, raw = match.groups()
    try:
        number = _value(METRICS[metric][2], raw.strip('"'))
    except ValueError as exc:
        raise ValueError(f"{metric}: {raw!r} is not a value in its unit ({exc})") from exc
    return Rule(metric, op, number, f"{metric} {op} {raw.strip(chr(34))}")


def parse_rules(spec: Mapping[str, Any] | Sequence[str]) -> list[Rule]:
    """Rules from a table or a list of sentences; ValueError names the bad one."""
    if isinstance(spec, Mapping):
        return [_one(str(k), v) for k, v in spec.items()]
    out = []
    for i, sentence in enumerate(spec):
        match = _SENTENCE.match(str(sentence))
        if not match:
            raise ValueError(f'[{i}]: expected "metric op value" like "p95 <= 300ms", '
                             f"got {sentence!r}")  # fmt: skip
        metric, op, raw = match.groups()
        out.append(_one(metric, raw if metric in NAMED else f"{'==' if op == '=' else op} {raw}"))
    return out


def families_of(rules: Sequence[Rule]) -> set[str]:
    return {NAMED.get(r.metric) or METRICS[r.metric][0] for r in rules}


def _show(unit: str, value: float) -> str:
    if unit == "ms":
        return f"{value:g}ms"
    if unit == "s":
        return f"{value:g}s"
    if unit == "rate":
        return f"{value * 100:.3g}%"
    return f"{value:g}"


def judge(summary: Mapping[str, Any], rules: Sequence[Rule]) -> list[tuple[str, str]]:
    """``(finding name, message)`` for every rule the report breaks (empty: it passes)."""
    family = summary.get("family")
    broken: list[tuple[str, str]] = []
    if family == "load" and summary.get("thresholds_failed"):
        crossed = summary["thresholds_failed"]
        broken.append(("thresholds", f"k6 thresholds crossed: {', '.join(crossed[:5])}"))
    if family == "tests" and (summary["failures"] or summary["errors"]):
        broken.append(("tests_failed", f"{summary['failures']} failed and {summary['errors']} "
                       f"errored of {summary['tests']} tests: "
                       + "; ".join(summary["failed_cases"][:3])))  # fmt: skip
    if family == "rollback" and summary.get("outcome") != "success":
        broken.append(("drill_failed", f"the rollback drill from {summary['from']} to "
                       f"{summary['to']} failed"))  # fmt: skip
    for rule in rules:
        broken.extend(_judge_one(summary, rule))
    return broken


def _judge_one(summary: Mapping[str, Any], rule: Rule) -> list[tuple[str, str]]:
    if rule.metric == "suite":
        suites = summary.get("suites") or []
        if rule.value not in suites:
            return [("rule", f"expected test suite {rule.value!r}, report has "
                     f"{', '.join(map(repr, suites[:5])) or 'none'}")]  # fmt: skip
        return []
    if rule.metric in ("max_level", "max_severity"):
        order = LEVELS if rule.metric == "max_level" else SEVERITY_ORDER
        key = "level" if rule.metric == "max_level" else "severity"
        over = [f for f in summary.get("top", []) if order.index(f[key] or order[0]) >
                order.index(str(rule.value))]  # fmt: skip
        counts = summary["by_level" if key == "level" else "by_severity"]
        n = sum(c for name, c in counts.items() if order.index(name) > order.index(str(rule.value)))
        if n:
            top = "; ".join(f"{f['rule']} at {f['where']}: {f['message'][:80]}" for f in over[:3])
            return [("findings", f"{n} finding(s) above {key} {rule.value}: {top}")]
        return []
    _, key, unit = METRICS[rule.metric]
    actual = summary.get(key)
    if actual is None:
        return [("metric_missing", f"{rule.text}: the report does not give {rule.metric}")]
    if not _OPS[rule.op](float(actual), float(rule.value)):
        return [("rule", f"{rule.metric} is {_show(unit, float(actual))}, needs {rule.text}")]
    return []
