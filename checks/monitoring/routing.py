"""Alertmanager's routing tree, walked as Alertmanager walks it (pure).

``/api/v2/status`` returns the running configuration as YAML (secrets shown as
``<secret>``). An alert enters at the root route, which matches everything; the first
child whose matchers all match takes it (further children too when that child says
``continue: true``), recursively; when no child matches, the node itself routes it. A
receiver "notifies" when it has at least one ``*_configs`` integration — a receiver without
one (the usual ``null`` / blackhole) delivers nothing. Matchers follow Alertmanager:
``match`` (equality), ``match_re`` (anchored regex), ``matchers`` (``a="b"``, ``a=~"x|y"``,
``a!=b``, ``a!~"x"``); a label the alert lacks counts as the empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

_MATCHER = re.compile(
    r'^\s*([^\s=!~"]+)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(.*?))\s*$', re.DOTALL
)
MAX_DEPTH = 64


class RoutingError(ValueError):
    """The configuration Alertmanager reported cannot be read."""


@dataclass(frozen=True)
class Routed:
    """Where one alert goes: the receivers reached and whether only the root route took it."""

    receivers: tuple[str, ...]
    root_only: bool
    path: tuple[str, ...]


def parse_config(original: Any) -> dict[str, Any]:
    """The YAML configuration from ``/api/v2/status`` ``config.original``."""
    if not isinstance(original, str) or not original.strip():
        raise RoutingError("the status has no config.original")
    try:
        doc = yaml.safe_load(original)
    except yaml.YAMLError as exc:
        raise RoutingError(f"config.original is not YAML: {str(exc)[:200]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("route"), dict):
        raise RoutingError("config.original has no route")
    return doc


def _split(text: str) -> list[str]:
    """``{a="b", c=~"d,e"}`` → its matchers (commas inside quotes kept)."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    out, cur, quoted, escaped = [], "", False, False
    for ch in text:
        if escaped:
            cur, escaped = cur + ch, False
            continue
        if ch == "\\":
            cur, escaped = cur + ch, True
            continue
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return [m for m in out if m.strip()]


def matchers_of(route: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(label, op, value)`` for every matcher of one route, old and new syntax."""
    out: list[tuple[str, str, str]] = []
    for name, value in (route.get("match") or {}).items():
        out.append((str(name), "=", str(value)))
    for name, value in (route.get("match_re") or {}).items():
        out.append((str(name), "=~", str(value)))
    for entry in route.get("matchers") or []:
        for part in _split(str(entry)):
            m = _MATCHER.match(part)
            if m is None:
                raise RoutingError(f"unreadable matcher {part.strip()[:80]!r}")
            value = m.group(3) if m.group(3) is not None else (m.group(4) or "")
            value = re.sub(r"\\(.)", r"\1", value)
            out.append((m.group(1), m.group(2), value))
    return out


def _matches(route: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    for name, op, pattern in matchers_of(route):
        value = labels.get(name, "")
        if op in ("=", "!="):
            hit = value == pattern
        else:
            try:
                hit = re.fullmatch(pattern, value) is not None
            except re.error as exc:
                raise RoutingError(f"bad regex in matcher {name}{op}{pattern!r}: {exc}") from None
        if hit != (op in ("=", "=~")):
            return False
    return True


def _describe(route: Mapping[str, Any]) -> str:
    found = matchers_of(route)
    return ",".join(f"{n}{op}{v!r}" for n, op, v in found)[:200] or "(no matchers)"


def route(root: Mapping[str, Any], labels: Mapping[str, str]) -> Routed:
    """Where Alertmanager sends an alert with ``labels``."""
    reached: list[tuple[str, tuple[str, ...]]] = []

    def walk(node: Mapping[str, Any], receiver: str, path: tuple[str, ...], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise RoutingError("the route tree is nested too deeply")
        receiver = str(node.get("receiver") or receiver)
        matched = False
        for child in node.get("routes") or []:
            if not isinstance(child, Mapping) or not _matches(child, labels):
                continue
            matched = True
            walk(child, receiver, (*path, _describe(child)), depth + 1)
            if not child.get("continue", False):
                break
        if not matched:
            reached.append((receiver, path))

    walk(root, str(root.get("receiver") or ""), (), 0)
    receivers = tuple(dict.fromkeys(r for r, _ in reached))
    root_only = all(not p for _, p in reached)
    return Routed(receivers, root_only, reached[0][1] if reached else ())


def notifying(config: Mapping[str, Any]) -> set[str]:
    """Receivers with at least one integration (``*_configs`` that is not empty)."""
    out: set[str] = set()
    for receiver in config.get("receivers") or []:
        if not isinstance(receiver, Mapping):
            continue
        if any(k.endswith("_configs") and v for k, v in receiver.items()):
            out.add(str(receiver.get("name", "")))
    return out
