"""The ``api`` check kind: the service's OpenAPI contract and live behaviour follow house conventions.

``collect`` loads the document (the service's URL through the prober, or a config-tier
``spec_file``), refuses what is unsafe to process (non-JSON/YAML, over the size cap, remote
``$ref``, ``$ref`` loops), validates it with ``openapi-spec-validator``, runs the named lint
rules of the rule set (``rules.toml``, or the operator's ``rules_file``) and a few live,
safe probes (GET/HEAD/OPTIONS). ``evaluate`` applies severities and per-service switches and
scores the service; it is pure. The document itself never enters the facts.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from checks.api import document
from checks.api.evaluate import evaluate
from checks.api.lint import lint
from checks.api.lint_common import LintContext, Violation
from checks.api.live import probe_live
from checks.api.live_rules import LIVE_RULES
from checks.api.model import Spec
from checks.api.ruleset import RULE_IDS, RuleSet, RulesFileError, load_ruleset
from checks.api.source import Loaded, fetch_spec, read_file
from checks.api.validate import validate_cached
from checks.base import Check, Options, Outcome, ProbeContext, ProbeError, Target, codes_of
from checks.bounds import MAX_ITEMS
from checks.units import Size

DEFAULT_MAX_SPEC = 10_000_000
MAX_SPEC = 25_000_000
#: violations kept in the facts per rule (the evaluation shows 5; the rest are counted)
KEEP_PER_RULE = 20

__all__ = ["RULE_IDS", "ApiCheck", "ApiOptions"]


class ApiOptions(Options):
    """DESIGN §4 keys ``openapi rules probe_token_env``; the rest shape the run."""

    #: the document's path on the service (or an absolute http(s) URL)
    openapi: str = "/openapi.json"
    #: config-file tier only: read the document from this file instead
    spec_file: str | None = None
    #: config-file tier only: a copy of checks/api/rules.toml laid over the shipped rules
    rules_file: str | None = None
    #: rule id -> off | info | warn | fail (per service)
    rules: dict[str, Literal["off", "info", "warn", "fail"]] = Field({}, max_length=len(RULE_IDS))
    #: operations needing no credentials / needing Idempotency-Key (None: the rule set's lists)
    public_operations: list[str] | None = Field(None, max_length=MAX_ITEMS)
    idempotent_operations: list[str] | None = Field(None, max_length=MAX_ITEMS)
    #: run the live probes (GET/HEAD/OPTIONS) against the service
    live: bool = True
    #: config-file tier only: env var holding a read-only bearer token for the document and lists
    probe_token_env: str | None = None
    max_spec_size: Size = Field(DEFAULT_MAX_SPEC, ge=1, le=MAX_SPEC)
    verify: bool = True
    ca_file: str | None = None

    @field_validator("openapi")
    @classmethod
    def _openapi(cls, value: str) -> str:
        if not value.startswith(("/", "http://", "https://")):
            raise ValueError("must be a path on the service (/openapi.json) or an http(s) URL")
        return value

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(RULE_IDS))
        if unknown:
            raise ValueError(
                f"unknown rule id(s) {', '.join(unknown)}; known: {', '.join(RULE_IDS)}"
            )
        return value


class ApiCheck(Check[ApiOptions]):
    kind: ClassVar[str] = "api"
    Options: ClassVar[type[Options]] = ApiOptions
    codes = codes_of(
        "api", *RULE_IDS, "spec_invalid", "spec_unreachable", "spec_unreadable",
        "spec_too_large", "spec_unparseable", "ref_refused", "ref_loop", "rules_invalid",
        "live_unreachable",
    )  # fmt: skip

    async def collect(
        self, target: Target, options: ApiOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        try:
            ruleset = await asyncio.to_thread(load_ruleset, options.rules_file)
        except RulesFileError as exc:
            raise ProbeError("rules_invalid", str(exc)) from exc
        token = _token(options, ctx)
        loaded = await _load(target, options, ctx, token)
        doc = await asyncio.to_thread(_prepare, loaded)
        digest = hashlib.sha256(loaded.data).hexdigest()
        validation = await asyncio.to_thread(validate_cached, digest, doc)
        conv = ruleset.conventions
        lctx = LintContext(
            Spec(doc),
            conv,
            tuple(
                conv.public_operations
                if options.public_operations is None
                else options.public_operations
            ),
            tuple(
                conv.idempotent_operations
                if options.idempotent_operations is None
                else options.idempotent_operations
            ),
        )
        levels = _levels(ruleset, options)
        doc_rules = [r for r in RULE_IDS if r not in LIVE_RULES and levels[r] != "off"]
        violations = await asyncio.to_thread(lint, lctx, doc_rules)
        live = None
        if options.live and any(levels[r] != "off" for r in LIVE_RULES):
            live = await probe_live(
                target, lctx, ctx, token=token, verify=options.verify, ca_file=options.ca_file
            )
        return {
            "checked_at": ctx.now().isoformat(),
            "source": loaded.source,
            "size": len(loaded.data),
            "version": validation.version,
            "title": str((doc.get("info") or {}).get("title", ""))[:200]
            if isinstance(doc.get("info"), dict)
            else "",
            "operations": sum(1 for _ in lctx.spec.operations()),
            "validation": {"errors": validation.errors},
            "rules": {
                r: m.model_dump(include={"severity", "fix", "title"})
                for r, m in ruleset.rules.items()
            },
            "rules_file": options.rules_file,
            "rules_run": doc_rules,
            **_kept(violations),
            "live": live,
        }

    def evaluate(self, facts: Mapping[str, Any], options: ApiOptions) -> Outcome:
        return evaluate(facts, options.rules)


def _kept(violations: list[Violation]) -> dict[str, Any]:
    """The first violations of each rule, and how many each rule had in all."""
    kept: list[dict[str, str]] = []
    totals: dict[str, int] = {}
    for v in violations:
        totals[v.rule] = totals.get(v.rule, 0) + 1
        if totals[v.rule] <= KEEP_PER_RULE:
            kept.append(v.to_dict())
    return {"violations": kept, "violation_totals": totals}


def _levels(ruleset: RuleSet, options: ApiOptions) -> dict[str, str]:
    return {r: options.rules.get(r, ruleset.rules[r].severity) for r in RULE_IDS}


def _token(options: ApiOptions, ctx: ProbeContext) -> str | None:
    name = options.probe_token_env
    if name is None:
        return None
    value = ctx.environ.get(name)
    if not value:
        raise ProbeError("config", f"probe_token_env names {name}, which is not set")
    return value


async def _load(
    target: Target, options: ApiOptions, ctx: ProbeContext, token: str | None
) -> Loaded:
    cap = options.max_spec_size
    if options.spec_file:
        return await asyncio.to_thread(read_file, options.spec_file, cap)
    return await fetch_spec(
        target,
        target.url_for(options.openapi),
        ctx,
        cap=cap,
        token=token,
        verify=options.verify,
        ca_file=options.ca_file,
    )


def _prepare(loaded: Loaded) -> dict[str, Any]:
    """Parse and refuse unsafe references (CPU work: runs in a thread)."""
    doc = document.parse(loaded.data, loaded.source)
    document.check_refs(doc, loaded.source)
    return doc
