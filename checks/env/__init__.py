"""The ``env`` check: required configuration is present and sane, without storing a value.

Values are judged where they are read (inside ``collect``) by pure rules; only names and
verdicts become facts. Nothing here logs, stores or formats a value into a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import field_validator

from checks.base import Check, Options, Outcome, ProbeContext, ProbeError, Target, codes_of
from checks.env import rules
from checks.env.evaluate import VERDICT_CODES, evaluate
from checks.env.sources import Masked, SourceRead
from checks.env.sources.dotenv import parse_dotenv, read_dotenv
from checks.env.sources.http import BODY_CAP, parse_env_body
from checks.env.sources.process import read_process

SOURCE_KINDS = ("dotenv", "process", "http")


class EnvOptions(Options):
    """DESIGN §4 keys ``source required manifest``; the rest tune the http source."""

    source: str
    required: list[str] = []
    manifest: str | None = None
    #: judge as production (debug flags); default: the service's environment is production
    production: bool | None = None
    verify: bool = True
    ca_file: str | None = None
    headers: dict[str, str] = {}
    secret_headers: list[str] = []  # see HttpOptions.secret_headers

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        kind, sep, arg = value.partition(":")
        if not sep or kind not in SOURCE_KINDS or not arg:
            raise ValueError("source must be dotenv:PATH, process:PID or http:PATH")
        if kind == "process" and not (arg.isdigit() and int(arg) > 0):
            raise ValueError("process:PID needs a positive numeric pid")
        return value


class EnvCheck(Check[EnvOptions]):
    kind = "env"
    Options: ClassVar[type[EnvOptions]] = EnvOptions  # type: ignore[misc]
    error_codes: ClassVar[dict[str, str]] = {
        k: "source_unreadable"
        for k in (
            "unreadable",
            "timeout",
            "refused",
            "dns",
            "reset",
            "tls",
            "unreachable",
            "invalid_response",
        )
    }
    codes = codes_of(
        "env", *VERDICT_CODES, "values_exposed", "source_unreadable",
        "body_too_large", "too_many_redirects", "blocked_by_policy",
    )  # fmt: skip

    async def collect(
        self, target: Target, options: EnvOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        examples: dict[str, str] = {}
        if options.manifest:
            examples = await asyncio.to_thread(_read_manifest, options.manifest)
        required = list(dict.fromkeys([*options.required, *examples]))
        production = options.production
        if production is None:
            production = target.environment.lower() in ("production", "prod")
        read = await _read_source(target, options, ctx)
        facts = judge_source(read, required, examples, production)
        del read
        facts["source"] = options.source.split(":", 1)[0]
        return facts

    def evaluate(self, facts: Mapping[str, Any], options: EnvOptions) -> Outcome:
        return evaluate(facts)


def _read_manifest(path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_dotenv(fh.read())
    except OSError as exc:
        raise ProbeError("config", f"cannot read manifest {path}: {exc.strerror or exc}") from None


async def _read_source(target: Target, options: EnvOptions, ctx: ProbeContext) -> SourceRead:
    kind, _, arg = options.source.partition(":")
    if kind == "dotenv":
        return await asyncio.to_thread(read_dotenv, arg)
    if kind == "process":
        return await asyncio.to_thread(read_process, int(arg))
    url = target.url_for(arg)
    result = await ctx.http.fetch(
        url,
        headers={"Accept": "application/json", **options.headers},
        timeout=max(0.5, ctx.remaining()),
        verify=options.verify,
        ca_file=options.ca_file,
        body_cap=BODY_CAP,
    )
    if result.status != 200:
        raise ProbeError("unreadable", f"{url} answered HTTP {result.status}")
    return parse_env_body(result.body)


def judge_source(
    read: SourceRead, required: list[str], examples: Mapping[str, str], production: bool
) -> dict[str, Any]:
    """Apply the rules to every value in ``read``; return names and verdicts only."""
    names: dict[str, list[str]] = {name: [] for name in required if name in read.values}
    missing = [name for name in required if name not in read.values]
    masked: list[str] = []
    for name, value in read.values.items():
        is_required = name in names
        if isinstance(value, Masked):
            if is_required and rules.needs_value(name):
                masked.append(name)
            continue
        verdicts = rules.judge(
            name, value, required=is_required, production=production, example=examples.get(name)
        )
        if verdicts or is_required:
            names[name] = verdicts
    for name in masked:
        names[name] = [*names.get(name, []), rules.UNVERIFIABLE]
    return {
        "source_kind": read.kind,
        "production": production,
        "required_count": len(required),
        "present_count": len(read.values),
        "missing": missing,
        "names": names,
        "values_exposed": read.values_exposed,
    }


__all__ = ["EnvCheck", "EnvOptions"]
