"""The ``api`` kind's rule set: the shipped ``rules.toml``, optionally overlaid by an operator's copy.

The rules themselves are code (``lint_*.py``); the file holds what a team may disagree on —
each rule's severity, its one-line fix, and the vocabulary the rules read (verbs, plural
exceptions, pagination names, public and idempotent operations). Keys a copy leaves out
keep the shipped value, so an operator's file may hold only its changes.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_RULES_FILE = Path(__file__).with_name("rules.toml")
#: an operator's rules file is configuration, not a document to parse at any size
MAX_RULES_FILE = 256 * 1024

Level = Literal["off", "info", "warn", "fail"]
When = Literal["always", "input", "body", "path_params", "secured", "create"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleMeta(_Strict):
    severity: Level
    title: str = Field(min_length=1, max_length=200)
    fix: str = Field(min_length=1, max_length=300)
    anchor: str = Field("", max_length=300)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression ({exc})") from exc
    return value


class Conventions(_Strict):
    version_pattern: str
    unversioned_paths: list[str]
    segment_pattern: str
    verbs: list[str]
    plural_exceptions: list[str]
    page_params: list[str]
    size_params: list[str]
    cursor_params: list[str]
    meta_fields: list[list[str]]
    success_fields: list[str]
    error_fields: list[str]
    error_object_fields: list[str]
    error_statuses: dict[str, When]
    rate_limit_headers: list[str]
    security_schemes: list[str]
    public_operations: list[str]
    idempotent_operations: list[str]
    idempotency_header: str

    _patterns = field_validator("version_pattern", "segment_pattern")(_regex)

    @field_validator("error_statuses")
    @classmethod
    def _statuses(cls, value: dict[str, str]) -> dict[str, str]:
        for code in value:
            if not (code.isdigit() and 400 <= int(code) <= 599):
                raise ValueError(f"{code!r} is not a 4xx/5xx status")
        return value


class RuleSet(_Strict):
    version: Literal[1]
    conventions: Conventions
    rules: dict[str, RuleMeta]

    @field_validator("rules")
    @classmethod
    def _known(cls, value: dict[str, RuleMeta]) -> dict[str, RuleMeta]:
        unknown = sorted(set(value) - set(RULE_IDS))
        if unknown:
            raise ValueError(
                f"unknown rule id(s) {', '.join(unknown)} (known: {', '.join(RULE_IDS)})"
            )
        missing = sorted(set(RULE_IDS) - set(value))
        if missing:
            raise ValueError(f"rule(s) {', '.join(missing)} missing")
        return value


class RulesFileError(ValueError):
    """An operator's rules file cannot be used; the message names the file and the key."""


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        data = fh.read(MAX_RULES_FILE + 1)
    if len(data) > MAX_RULES_FILE:
        raise RulesFileError(f"rules file {path} is over {MAX_RULES_FILE} bytes")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesFileError(f"rules file {path} is not valid TOML: {exc}") from exc


def _overlay(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _overlay(out[key], value)
        else:
            out[key] = value
    return out


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()
    )


@cache
def default_ruleset() -> RuleSet:
    """The shipped rule set (a broken shipped file is a bug: let it raise)."""
    return RuleSet.model_validate(_read_toml(DEFAULT_RULES_FILE))


def load_ruleset(path: str | None) -> RuleSet:
    """The shipped rule set, or an operator's file laid over it (blocking: file I/O)."""
    if path is None:
        return default_ruleset()
    file = Path(path)
    try:
        raw = _read_toml(file)
    except OSError as exc:
        raise RulesFileError(f"cannot read rules file {path}: {exc.strerror or exc}") from exc
    rules = raw.get("rules")
    unknown = sorted(set(rules) - set(RULE_IDS)) if isinstance(rules, dict) else []
    if unknown:
        raise RulesFileError(
            f"rules file {path}: unknown rule id(s) {', '.join(unknown)} "
            f"(known: {', '.join(RULE_IDS)})"
        )
    merged = _overlay(_read_toml(DEFAULT_RULES_FILE), raw)
    try:
        return RuleSet.model_validate(merged)
    except ValidationError as exc:
        raise RulesFileError(f"rules file {path}: {_problems(exc)}") from exc


#: every rule id, in the order findings and the README list them
RULE_IDS: tuple[str, ...] = (
    "paths.plural-nouns",
    "paths.no-verbs",
    "paths.kebab-case",
    "paths.versioned",
    "pagination.params",
    "pagination.meta",
    "responses.envelope",
    "responses.error-envelope",
    "responses.error-statuses",
    "responses.create-201",
    "responses.create-location",
    "responses.delete-204",
    "responses.rate-limit-headers",
    "security.schemes-declared",
    "security.operations-protected",
    "operations.idempotency-key",
    "operations.unique-ids",
    "live.not-found-envelope",
    "live.error-leak",
    "live.list-envelope",
    "live.content-type",
    "live.options-methods",
)
