"""Gatus-style conditions for the ``health`` kind: parse once, evaluate purely against facts.

A condition is ``<left> <operator> <right>`` with operators ``== != < <= > >=``. Operands:

- placeholders: ``[STATUS]``, ``[RESPONSE_TIME]`` (ms), ``[BODY]`` with an optional JSON path
  (``[BODY].data[0].name``), ``[HEADER].<name>`` (case-insensitive), ``[IP]``, ``[CONNECTED]``;
- functions: ``len(<placeholder>)``, ``has(<placeholder>)``, ``pat(<pattern>)`` (``*`` is a
  wildcard) and ``any(<a>, <b>, ...)`` -- the last two only with ``==`` / ``!=``;
- literals: anything else; ``"double quotes"`` keep spaces and operator characters literal.

Values compare as numbers when both sides parse as numbers, as strings otherwise. A
placeholder that cannot be resolved (missing JSON key, no such header) fails the condition
whatever the operator, and shows as ``(INVALID)`` in the display, as Gatus does.

Facts are the ``health`` check's facts: ``status``, ``elapsed_ms``, ``headers`` (lowercased
names), ``body`` (text), ``body_json`` (parsed body, when present) and ``peer``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OPERATORS",
    "Condition",
    "ConditionError",
    "ConditionResult",
    "evaluate",
    "parse_condition",
    "references_body",
]

OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
PLACEHOLDERS = ("STATUS", "RESPONSE_TIME", "BODY", "HEADER", "IP", "CONNECTED")
MAX_CONDITION_LENGTH = 1000
MAX_DISPLAY_VALUE = 120
INVALID = "INVALID"

_PLACEHOLDER = re.compile(r"\[([A-Z_]+)\]")
_PATH_PART = re.compile(r"\.([^.\[\]\s]+)|\[(-?[0-9]+)\]")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_FUNCTION = re.compile(r"^(len|has|pat|any)\((.*)\)$", re.DOTALL)


class ConditionError(ValueError):
    """The text is not a valid condition; the message says why."""


@dataclass(frozen=True)
class Placeholder:
    """``[NAME]`` with an optional path (JSON path for BODY, header name for HEADER)."""

    name: str
    path: tuple[str | int, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Operand:
    """One side of a condition.

    ``func`` is ``None`` for a bare placeholder or literal, else ``len``/``has``/``pat``/``any``.
    ``placeholder`` is set for placeholders and ``len``/``has``; ``values`` holds the literal
    (one value) or the ``pat``/``any`` arguments.
    """

    text: str
    func: str | None = None
    placeholder: Placeholder | None = None
    values: tuple[str, ...] = ()

    @property
    def is_literal(self) -> bool:
        return self.placeholder is None


@dataclass(frozen=True)
class Condition:
    """A parsed condition; ``text`` is the original string."""

    text: str
    left: Operand
    operator: str
    right: Operand


@dataclass(frozen=True)
class ConditionResult:
    """Outcome of one condition; ``display`` shows resolved values: ``[STATUS] (503) == 200``."""

    condition: str
    success: bool
    display: str

    def to_dict(self) -> dict[str, Any]:
        return {"condition": self.condition, "success": self.success, "display": self.display}


# --------------------------------------------------------------------------- parsing


def parse_condition(text: str) -> Condition:
    """Parse ``text`` into a :class:`Condition`; raises :class:`ConditionError` if invalid."""
    if not isinstance(text, str):
        raise ConditionError(f"a condition must be a string, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ConditionError("empty condition")
    if len(stripped) > MAX_CONDITION_LENGTH:
        raise ConditionError(f"condition is longer than {MAX_CONDITION_LENGTH} characters")
    pos, op = _find_operator(stripped)
    left_text, right_text = stripped[:pos].strip(), stripped[pos + len(op) :].strip()
    if not left_text or not right_text:
        raise ConditionError(f"invalid condition {text!r}: {op} needs a value on both sides")
    left, right = _parse_operand(left_text), _parse_operand(right_text)
    for side in (left, right):
        if side.func in ("pat", "any") and op not in ("==", "!="):
            raise ConditionError(
                f"invalid condition {text!r}: {side.func}() only works with == and !="
            )
    if op in ("<", "<=", ">", ">="):
        for side, other in ((left, right), (right, left)):
            numeric = side.func == "len" or (
                side.func is None
                and side.placeholder is not None
                and side.placeholder.name in ("STATUS", "RESPONSE_TIME")
            )
            if numeric and other.is_literal and _number(other.values[0]) is None:
                raise ConditionError(
                    f"invalid condition {text!r}: {side.text} is a number "
                    f"(milliseconds for [RESPONSE_TIME]); {other.text!r} is not"
                )
    if left.func in ("pat", "any") and right.func in ("pat", "any"):
        raise ConditionError(f"invalid condition {text!r}: pat()/any() on both sides")
    if left.is_literal and right.is_literal and left.func is None and right.func is None:
        raise ConditionError(
            f"invalid condition {text!r}: no placeholder such as [STATUS], [BODY], "
            "[RESPONSE_TIME] or [HEADER].<name>"
        )
    return Condition(text=stripped, left=left, operator=op, right=right)


def _find_operator(text: str) -> tuple[int, str]:
    """Position and operator at top level (outside (), [] and quotes).

    An operator surrounded by whitespace wins (Gatus requires the spaces); without spaces
    exactly one operator must be present.
    """
    found: list[tuple[int, str, bool]] = []
    depth = 0
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif quoted:
            pass
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0:
            op = next((o for o in OPERATORS if text.startswith(o, i)), None)
            run = re.match(r"[=<>!]+", text[i:])
            if run and len(run.group(0)) > 1 and run.group(0) not in OPERATORS:
                raise ConditionError(
                    f"invalid condition {text!r}: unknown operator {run.group(0)!r} "
                    f"(expected one of {' '.join(OPERATORS)}; quote a literal value "
                    'that contains it: "a==b")'
                )
            if op is not None:
                end = i + len(op)
                spaced = (i > 0 and text[i - 1].isspace()) and (
                    end < len(text) and text[end].isspace()
                )
                found.append((i, op, spaced))
                i = end
                continue
        i += 1
    if quoted:
        raise ConditionError(f"invalid condition {text!r}: unbalanced double quote")
    with_spaces = [f for f in found if f[2]]
    candidates = with_spaces or found
    if not candidates:
        raise ConditionError(
            f"invalid condition {text!r}: no operator (expected one of {' '.join(OPERATORS)})"
        )
    if len(candidates) > 1:
        raise ConditionError(
            f"invalid condition {text!r}: more than one operator; quote literal values "
            'that contain operator characters ("a<b")'
        )
    return candidates[0][0], candidates[0][1]


def _parse_operand(text: str) -> Operand:
    match = _FUNCTION.match(text)
    if match:
        func, inner = match.group(1), match.group(2).strip()
        if func in ("len", "has"):
            ph = _parse_placeholder(inner)
            if ph is None:
                raise ConditionError(
                    f"{func}() takes a placeholder such as [BODY].items, not {inner!r}"
                )
            return Operand(text=text, func=func, placeholder=ph)
        if func == "pat":
            if not inner:
                raise ConditionError("pat() needs a pattern, e.g. pat(john*)")
            if _PLACEHOLDER.match(inner):
                raise ConditionError("pat() takes a literal pattern, not a placeholder")
            return Operand(text=text, func=func, values=(_unquote(inner),))
        args = [a.strip() for a in _split_args(inner)]
        if not args or any(not a for a in args):
            raise ConditionError(f"any() needs comma-separated values, got {text!r}")
        if any(_PLACEHOLDER.match(a) for a in args):
            raise ConditionError("any() takes literal values, not placeholders")
        return Operand(text=text, func=func, values=tuple(_unquote(a) for a in args))
    ph = _parse_placeholder(text)
    if ph is not None:
        return Operand(text=text, placeholder=ph)
    if text.startswith(("len(", "has(", "pat(", "any(")):
        raise ConditionError(f"unbalanced parentheses in {text!r}")
    return Operand(text=text, values=(_unquote(text),))


def _parse_placeholder(text: str) -> Placeholder | None:
    """A placeholder operand, None when ``text`` is not one; ConditionError when malformed."""
    match = _PLACEHOLDER.match(text)
    if not match:
        return None
    name, rest = match.group(1), text[match.end() :]
    if name not in PLACEHOLDERS:
        raise ConditionError(f"unknown placeholder [{name}] (known: {', '.join(PLACEHOLDERS)})")
    if name == "HEADER":
        if not rest.startswith(".") or not _HEADER_NAME.match(rest[1:]):
            raise ConditionError(
                f"[HEADER] needs a header name: [HEADER].content-type, not {text!r}"
            )
        return Placeholder(name, (rest[1:].lower(),), text)
    if name != "BODY":
        if rest:
            raise ConditionError(f"[{name}] takes no path, got {text!r}")
        return Placeholder(name, (), text)
    path: list[str | int] = []
    pos = 0
    while pos < len(rest):
        part = _PATH_PART.match(rest, pos)
        if not part:
            raise ConditionError(
                f"invalid JSON path {rest!r} in {text!r} (use .key and [index], e.g. .data[0].name)"
            )
        path.append(part.group(1) if part.group(1) is not None else int(part.group(2)))
        pos = part.end()
    return Placeholder(name, tuple(path), text)


def _split_args(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def references_body(condition: Condition) -> bool:
    """True when evaluating ``condition`` needs the response body (Gatus needsToReadBody)."""
    return any(
        side.placeholder is not None and side.placeholder.name == "BODY"
        for side in (condition.left, condition.right)
    )


# --------------------------------------------------------------------------- evaluation

_MISSING = object()


def evaluate(condition: Condition, facts: Mapping[str, Any]) -> ConditionResult:
    """Evaluate a parsed condition against ``facts``; pure, never raises."""
    left_value, left_display = _resolve(condition.left, facts)
    right_value, right_display = _resolve(condition.right, facts)
    display = f"{left_display} {condition.operator} {right_display}"
    if left_value is None or right_value is None:
        return ConditionResult(condition.text, False, display)
    op = condition.operator
    if condition.right.func in ("pat", "any") or condition.left.func in ("pat", "any"):
        fn_side, value = (
            (condition.right, left_value)
            if condition.right.func in ("pat", "any")
            else (condition.left, right_value)
        )
        if fn_side.func == "pat":
            matched = _pattern_match(fn_side.values[0], value)
        else:
            matched = any(_equal(value, candidate) for candidate in fn_side.values)
        return ConditionResult(condition.text, matched if op == "==" else not matched, display)
    return ConditionResult(condition.text, _compare(left_value, op, right_value), display)


def _resolve(side: Operand, facts: Mapping[str, Any]) -> tuple[str | None, str]:
    """(value as text or None when unresolvable, display text) for one operand."""
    if side.func in ("pat", "any"):
        return "", side.text
    if side.placeholder is None:
        return side.values[0], side.text
    raw = _lookup(side.placeholder, facts, prefer_json=side.func == "len")
    if side.func == "has":
        value: str | None = "true" if raw is not _MISSING else "false"
    elif raw is _MISSING:
        value = None
    elif side.func == "len":
        value = str(len(raw)) if isinstance(raw, str | list | dict) else None
    else:
        value = _as_text(raw)
    shown = INVALID if value is None else _shorten(value)
    return value, f"{side.text} ({shown})"


def _lookup(ph: Placeholder, facts: Mapping[str, Any], prefer_json: bool = False) -> Any:
    if ph.name == "STATUS":
        status = facts.get("status")
        return status if status is not None else _MISSING
    if ph.name == "RESPONSE_TIME":
        elapsed = facts.get("elapsed_ms")
        return int(elapsed) if isinstance(elapsed, int | float) else _MISSING
    if ph.name == "IP":
        peer = facts.get("peer")
        return peer if peer else _MISSING
    if ph.name == "CONNECTED":
        return facts.get("status") is not None
    if ph.name == "HEADER":
        headers = facts.get("headers") or {}
        value = headers.get(ph.path[0]) if isinstance(headers, Mapping) else None
        return value if value is not None else _MISSING
    # BODY
    body = facts.get("body")
    if not ph.path:
        # len([BODY]) counts the elements of a JSON array/object, else the characters
        document = _body_json(facts) if prefer_json or body is None else _MISSING
        if isinstance(document, list | dict):
            return document
        return body if body is not None else _MISSING
    node = _body_json(facts)
    for part in ph.path:
        if isinstance(part, int):
            if not isinstance(node, list) or not -len(node) <= part < len(node):
                return _MISSING
            node = node[part]
        else:
            if not isinstance(node, dict) or part not in node:
                return _MISSING
            node = node[part]
    return node


def _body_json(facts: Mapping[str, Any]) -> Any:
    if "body_json" in facts:
        return facts["body_json"]
    body = facts.get("body")
    if not isinstance(body, str):
        return _MISSING
    try:
        return json.loads(body)
    except ValueError:
        return _MISSING


def _as_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool) or raw is None:
        return json.dumps(raw)
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e15:
        return str(int(raw))
    if isinstance(raw, int | float):
        return str(raw)
    return json.dumps(raw, separators=(",", ":"), sort_keys=True, default=str)


def _shorten(value: str) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= MAX_DISPLAY_VALUE else value[: MAX_DISPLAY_VALUE - 1] + "…"


def _number(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _equal(a: str, b: str) -> bool:
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return a == b


def _compare(a: str, op: str, b: str) -> bool:
    na, nb = _number(a), _number(b)
    left: Any
    right: Any
    left, right = (na, nb) if na is not None and nb is not None else (a, b)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _pattern_match(pattern: str, value: str) -> bool:
    """Gatus ``pat()``: ``*`` matches any run of characters, everything else is literal."""
    regex = ".*".join(re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(regex, value, re.DOTALL) is not None
