"""What a sample of log lines shows about their structure (pure).

Only counts leave this module — how many lines were JSON, carried each field, were at
which level, and how many ``info`` lines held a stack trace (with the trace kinds' names,
from the same signatures the ``exposure`` kind uses). Log lines can hold personal data or
secrets; none is ever kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from checks.exposure.signatures import STACK_TRACES

INFO_LEVELS = frozenset({"info", "information", "informational", "notice", "30", "9"})
MAX_LEVELS = 12
MAX_TEXT = 64 * 1024


def lookup(doc: Mapping[str, Any], name: str) -> Any:
    """``doc[name]``, or the nested value a dotted name points at (``log.level``)."""
    if name in doc:
        return doc[name]
    node: Any = doc
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _strings(value: Any, out: list[str], depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            _strings(item, out, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out, depth + 1)


def trace_kinds(text: str) -> list[str]:
    """Names of the stack-trace signatures ``text`` shows (empty: none)."""
    names: list[str] = []
    for sig in STACK_TRACES:
        if sig.name not in names and len(sig.pattern.findall(text)) >= sig.min_matches:
            names.append(sig.name)
    return names


def _level(doc: Mapping[str, Any], aliases: tuple[str, ...]) -> str | None:
    for name in aliases:
        value = lookup(doc, name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip().lower()
    return None


def analyse(
    docs: Iterable[Mapping[str, Any] | str], aliases: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    """Counts over sampled lines: a line is a JSON object (Elasticsearch ``_source``, or a
    Loki line that parses as one) or a plain string."""
    total = structured = at_info = 0
    fields = dict.fromkeys(aliases, 0)
    levels: dict[str, int] = {}
    kinds: list[str] = []
    for item in docs:
        total += 1
        doc = _parse(item)
        if doc is None:
            continue
        structured += 1
        for field, names in aliases.items():
            if any(_present(lookup(doc, n)) for n in names):
                fields[field] += 1
        level = _level(doc, aliases.get("level", ()))
        if level is not None:
            key = level if level in levels or len(levels) < MAX_LEVELS else "other"
            levels[key] = levels.get(key, 0) + 1
        if level in INFO_LEVELS:
            texts: list[str] = []
            _strings(doc, texts)
            found = trace_kinds("\n".join(texts)[:MAX_TEXT])
            if found:
                at_info += 1
                kinds.extend(k for k in found if k not in kinds)
    return {
        "lines": total,
        "json": structured,
        "fields": fields,
        "levels": levels,
        "stack_traces_at_info": at_info,
        "stack_trace_kinds": kinds,
    }


def _parse(item: Mapping[str, Any] | str) -> Mapping[str, Any] | None:
    if isinstance(item, Mapping):
        return item
    text = item.strip()
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None
