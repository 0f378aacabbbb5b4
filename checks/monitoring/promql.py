"""PromQL pieces the ``monitoring`` kind writes and reads (pure).

It writes one selector (``up{job="payments",instance="10.0.0.5:9100"}``) and reads the label
matchers inside the alerting rules Prometheus reports, to decide whether a rule covers the
job: a selector whose ``job`` matcher selects it (``job="payments"``, ``job=~"pay.*"``) and
whose ``instance`` matcher, if any, does not exclude the instance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_BLOCK = re.compile(r"\{([^{}]*)\}")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")


def quote(value: str) -> str:
    """A PromQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def selector(metric: str, job: str, instance: str | None) -> str:
    """``metric{job="…"[,instance="…"]}``."""
    labels = f"job={quote(job)}"
    if instance:
        labels += f",instance={quote(instance)}"
    return f"{metric}{{{labels}}}"


def duration(seconds: float) -> str:
    """A PromQL range (whole seconds, at least 1s)."""
    return f"{max(1, round(seconds))}s"


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def _accepts(op: str, pattern: str, value: str) -> bool:
    """Whether one matcher lets ``value`` through (regexes are anchored, as in Prometheus)."""
    if op in ("=", "!="):
        equal = pattern == value
        return equal if op == "=" else not equal
    try:
        hit = re.fullmatch(pattern, value) is not None
    except re.error:
        return False
    return hit if op == "=~" else not hit


def selects(query: str, job: str, instance: str | None) -> bool:
    """Whether some vector selector of ``query`` names the job (and admits the instance)."""
    for block in _BLOCK.findall(query):
        matchers = [(n, op, _unescape(v)) for n, op, v in _MATCHER.findall(block)]
        jobs = [(op, v) for n, op, v in matchers if n == "job"]
        if not jobs or not any(op in ("=", "=~") for op, _ in jobs):
            continue
        if not all(_accepts(op, v, job) for op, v in jobs):
            continue
        if instance and not all(
            _accepts(op, v, instance) for n, op, v in matchers if n == "instance"
        ):
            continue
        return True
    return False


def covering_rules(
    groups: Any, job: str, instance: str | None, service: str, named: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Alerting rules that cover the job: by selector, by their own ``job``/``service``
    label, or by name (``alert_rules``). Only names, labels and health leave this function."""
    out: list[dict[str, Any]] = []
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, Mapping):
            continue
        for rule in group.get("rules") or []:
            if not isinstance(rule, Mapping) or rule.get("type", "alerting") != "alerting":
                continue
            name = str(rule.get("name", ""))
            raw = rule.get("labels")
            labels: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
            query = str(rule.get("query", ""))
            how = None
            if name in named:
                how = "named"
            elif selects(query, job, instance):
                how = "selector"
            elif labels.get("job") == job or labels.get("service") == service:
                how = "label"
            if how is None:
                continue
            out.append(
                {
                    "name": name[:200],
                    "group": str(group.get("name", ""))[:200],
                    "matched_by": how,
                    "labels": {str(k): str(v)[:200] for k, v in list(labels.items())[:20]},
                    "health": str(rule.get("health", "unknown")),
                    "last_error": str(rule.get("lastError", ""))[:300],
                    "state": str(rule.get("state", "")),
                }
            )
    return out
