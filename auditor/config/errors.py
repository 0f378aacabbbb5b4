"""Configuration problems: one line each, naming the key path (``services[1].checks[0].warn_days``)."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError


class ConfigError(Exception):
    """A configuration that cannot be used; ``problems`` holds one message per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_PYDANTIC_MESSAGES = {
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "missing": "is required",
    "extra_forbidden": "unknown key",
}


def _loc_path(prefix: str, loc: tuple[Any, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("greater_than", "greater_than_equal") and ctx.get("gt", ctx.get("ge")) in (0, 1):
        return (
            "must be a positive integer"
            if isinstance(err.get("input"), int)
            else "must be positive"
        )
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", "")))
    if kind in _PYDANTIC_MESSAGES:
        return _PYDANTIC_MESSAGES[kind]
    return str(err.get("msg", "is invalid"))


def did_you_mean(word: str, candidates: Collection[str]) -> str:
    """``; did you mean "interval"?`` for the closest candidate, "" when none is close."""
    match = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f'; did you mean "{match[0]}"?' if match else ""


def unknown_key(key: str, allowed: Collection[str]) -> str:
    """``unknown key; did you mean "interval"?`` — or the allowed keys when none is close."""
    hint = did_you_mean(key, allowed)
    if hint:
        return "unknown key" + hint
    return f"unknown key (allowed: {', '.join(sorted(allowed))})" if allowed else "unknown key"


def _models(annotation: Any) -> Iterable[type[BaseModel]]:
    """The models an annotation holds (``list[ReceiverModel]``, ``Model | None`` …)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def allowed_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> set[str]:
    """The keys the table at ``loc`` inside ``model`` takes (field names and aliases)."""
    current = model
    for part in loc:
        if current is None:
            return set()
        if isinstance(part, int):
            continue
        info = current.model_fields.get(str(part))
        current = next(iter(_models(info.annotation)), None) if info is not None else None
    if current is None:
        return set()
    names = set(current.model_fields)
    names.update(f.alias for f in current.model_fields.values() if f.alias)
    return names


def validation_problems(
    prefix: str,
    exc: ValidationError,
    model: type[BaseModel] | None = None,
    also: Collection[str] = (),
) -> list[str]:
    """One line per pydantic error; an unknown key gets a "did you mean" from the keys the
    table takes (``model``'s fields at that place, plus ``also``)."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = _message(err)
        if err.get("type") == "extra_forbidden" and loc:
            allowed = allowed_keys(model, loc[:-1]) | set(also)
            message = unknown_key(str(loc[-1]), allowed)
        out.append(f"{_loc_path(prefix, loc)}: {' '.join(message.split())}")
    return out
