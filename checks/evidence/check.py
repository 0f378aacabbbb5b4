"""The ``evidence`` check: the latest report pushed for an item passes its rules and is current.

Reports are pushed from CI/CD (``auditor evidence push``, ``POST …/evidence``) and read here
through ``ctx.history.evidence``; ``collect`` also reads the version the service now runs (its
health+json ``version``/``releaseId``, else the latest deploy event) and, for a rollback
drill, whether the runbook answers. ``evaluate`` re-judges the stored summary by the rules
of the current config, so a tightened rule applies at once. With no evidence, a live
attestation of the same item is the explicit fallback (``fallback = "attestation"``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Literal

from packaging.version import InvalidVersion, Version
from pydantic import Field, field_validator, model_validator

from checks.base import (
    Check,
    Finding,
    Judged,
    Options,
    Outcome,
    ProbeContext,
    ProbeError,
    RunStatus,
    Severity,
    Target,
    codes_of,
    judged,
    outcome_from_findings,
)
from checks.bounds import MAX_ITEMS, Age
from checks.evidence.formats import FAMILIES, FORMATS
from checks.evidence.rules import families_of, judge, parse_rules

_find = partial(judged, "evidence")
DEFAULT_DRILL_MAX_AGE = 90 * 86400.0
#: what :func:`checks.evidence.rules.judge` names a broken rule -> its finding code
RULE_CODES = {
    "rule": "evidence.rule",
    "metric_missing": "evidence.metric_missing",
    "thresholds": "evidence.thresholds",
    "tests_failed": "evidence.tests_failed",
    "findings": "evidence.findings",
    "drill_failed": "evidence.drill_failed",
}

#: words of an item name -> the family of evidence it expects (when ``family`` is not set)
_ITEM_WORDS = (("load", "load"), ("perf", "load"), ("rollback", "rollback"), ("scan", "scan"),
               ("sarif", "scan"), ("security", "scan"), ("test", "tests"),
               ("migration", "tests"), ("backup", "tests"), ("recovery", "tests"))  # fmt: skip


def family_for_item(item: str) -> str | None:
    low = item.lower()
    return next((fam for word, fam in _ITEM_WORDS if word in low), None)


class EvidenceOptions(Options):
    """DESIGN §4 keys ``item max_age stale_on_new_version rules`` plus ``family``, ``formats``,
    ``stale_on``, ``version_path``, ``fallback`` and ``check_runbook``."""

    item: str
    family: Literal["load", "tests", "scan", "rollback"] | None = None
    formats: list[str] = Field([], max_length=len(FORMATS))
    rules: dict[str, str | int | float] | list[str] = Field({}, max_length=MAX_ITEMS)
    max_age: Age | None = None
    stale_on: Literal["version", "age"] | None = None
    stale_on_new_version: bool | None = None
    version_path: str | None = "/health"
    fallback: Literal["attestation", "none"] = "attestation"
    check_runbook: bool = True
    #: how the version probe trusts the service (as the HTTP kinds; ``ca_file`` config only)
    ca_file: str | None = None
    verify: bool = True

    @field_validator("item")
    @classmethod
    def _item(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("item must name the checklist item")
        return value.strip()

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        bad = [f for f in value if f not in FORMATS]
        if bad:
            raise ValueError(f"unknown format {bad[0]!r} (known: {', '.join(FORMATS)})")
        return value

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: Any) -> Any:
        parse_rules(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EvidenceOptions:
        fam = self.resolved_family()
        if fam is None:
            raise ValueError(f"family: cannot tell from item {self.item!r}; set family to one of "
                             f"{', '.join(FAMILIES)}")  # fmt: skip
        wrong = [f for f in self.formats if FORMATS[f] != fam]
        if wrong:
            raise ValueError(f"formats: {wrong[0]} is not a {fam} report")
        other = families_of(parse_rules(self.rules)) - {fam}
        if other:
            raise ValueError(f"rules: a rule for {sorted(other)[0]} reports on a {fam} item")
        if self.stale_on and self.stale_on_new_version is not None and (
                (self.stale_on == "version") != self.stale_on_new_version):  # fmt: skip
            raise ValueError("stale_on and stale_on_new_version disagree; set one")
        return self

    def resolved_family(self) -> str | None:
        if self.family:
            return self.family
        by_name = family_for_item(self.item)
        if by_name is None and self.formats:
            return FORMATS[self.formats[0]]
        return by_name

    def accepted_formats(self) -> list[str]:
        fam = self.resolved_family()
        return list(self.formats) or [f for f, x in FORMATS.items() if x == fam]

    def staleness(self) -> str:
        """``version`` (new version makes it stale) or ``age`` (only ``max_age`` does)."""
        if self.stale_on:
            return self.stale_on
        if self.stale_on_new_version is not None:
            return "version" if self.stale_on_new_version else "age"
        return "age" if self.resolved_family() == "rollback" else "version"

    def effective_max_age(self) -> float | None:
        if self.max_age is None and self.resolved_family() == "rollback":
            return DEFAULT_DRILL_MAX_AGE
        return self.max_age


def reported_version(body: bytes) -> str | None:
    """``version`` / ``releaseId`` of a health+json (or ``/version``) answer."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", "replace").strip()
        return text if text and len(text) <= 64 and "\n" not in text and " " not in text else None
    if isinstance(doc, Mapping):
        for key in ("version", "releaseId", "release_id"):
            if isinstance(doc.get(key), str | int | float) and str(doc[key]).strip():
                return str(doc[key]).strip()[:64]
    return None


def is_older(made_for: str | None, deployed: str) -> bool:
    """Evidence made for ``made_for`` predates ``deployed`` (unknown or different = older
    when the versions do not compare as PEP 440 / semver-like)."""
    if made_for is None:
        return True
    try:
        return Version(made_for.lstrip("v")) < Version(deployed.lstrip("v"))
    except InvalidVersion:
        return made_for != deployed


class EvidenceCheck(Check[EvidenceOptions]):
    kind = "evidence"
    Options: ClassVar[type[EvidenceOptions]] = EvidenceOptions  # type: ignore[misc]
    codes = codes_of("evidence", "missing", "stale", "rule", "metric_missing", "thresholds",
                     "tests_failed", "findings", "drill_failed", "runbook_unreachable",
                     "wrong_format", "attested_only")  # fmt: skip

    async def collect(
        self, target: Target, options: EvidenceOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        facts: dict[str, Any] = {"item": options.item, "observed_at": ctx.now().isoformat(),
                                 "family": options.resolved_family()}  # fmt: skip
        record = ctx.history.evidence(target.service_id, options.item)
        facts["evidence"] = dict(record) if record else None
        await self._deployed(target, options, ctx, facts)
        if record is None and options.fallback == "attestation":
            att = ctx.history.attestation(target.service_id, options.item)
            facts["attestation"] = (
                {k: _iso(v) for k, v in att.items() if k in ("signed_by", "signed_at",
                                                             "expires_at")} if att else None
            )  # fmt: skip
        summary = (record or {}).get("summary") or {}
        if options.check_runbook and summary.get("family") == "rollback":
            facts["runbook"] = await _probe(ctx, summary["runbook_url"])
        return facts

    async def _deployed(self, target: Target, options: EvidenceOptions, ctx: ProbeContext,
                        facts: dict[str, Any]) -> None:  # fmt: skip
        if options.version_path:
            try:
                res = await ctx.http.fetch(target.url_for(options.version_path),
                                           timeout=max(0.1, ctx.remaining() / 2),
                                           body_cap=65536, truncate=True, verify=options.verify,
                                           ca_file=options.ca_file)  # fmt: skip
                version = reported_version(res.body) if res.status < 400 else None
                if version:
                    facts["deployed"] = {"version": version, "source": options.version_path}
                    return
            except ProbeError:
                pass  # the health check reports an unreachable service; fall back to deploys
        deploy = ctx.history.deployed_version(target.service_id)
        if deploy and deploy.get("version"):
            facts["deployed"] = {"version": str(deploy["version"]), "source": "deploy event",
                                 "at": _iso(deploy.get("at"))}  # fmt: skip

    def evaluate(self, facts: Mapping[str, Any], options: EvidenceOptions) -> Outcome:
        item, record = facts["item"], facts.get("evidence")
        if not record:
            return self._without(facts, options)
        found: list[Judged] = []
        summary = record.get("summary") or {}
        if record.get("format") not in options.accepted_formats():
            found.append(_find(RunStatus.FAIL, "wrong_format", Severity.MEDIUM,
                               f"{item!r}: the latest report is {record.get('format')}, this "
                               f"item takes {', '.join(options.accepted_formats())}"))  # fmt: skip
        for name, message in judge(summary, parse_rules(options.rules)):
            found.append((RunStatus.FAIL, Finding(RULE_CODES[name], Severity.HIGH,
                                                  f"{item!r}: {message}")))  # fmt: skip
        stale = _stale(facts, record, options)
        if stale:
            found.append(_find(RunStatus.FAIL, "stale", Severity.MEDIUM, f"{item!r}: {stale}"))
        runbook = facts.get("runbook")
        if runbook and not runbook.get("ok"):
            found.append(_find(RunStatus.FAIL, "runbook_unreachable", Severity.MEDIUM,
                               f"{item!r}: runbook {summary.get('runbook_url')} "
                               f"{runbook.get('error')}"))  # fmt: skip
        verdict = "stale" if stale and len(found) == 1 else "fail" if found else "pass"
        ok = (f"{item!r}: {record.get('format')} for {record.get('version') or 'no version'} "
              f"passes its rules")  # fmt: skip
        return outcome_from_findings(found, ok, {"verdict": verdict})

    def _without(self, facts: Mapping[str, Any], options: EvidenceOptions) -> Outcome:
        item, att = facts["item"], facts.get("attestation")
        now = datetime.fromisoformat(facts["observed_at"])
        expires = att.get("expires_at") if att else None
        if (
            att
            and att.get("signed_at")
            and not (expires and datetime.fromisoformat(expires) <= now)
        ):
            return outcome_from_findings(
                [_find(RunStatus.PASS, "attested_only", Severity.INFO,
                       f"{item!r}: no machine evidence pushed; signed off by "
                       f"{att.get('signed_by') or 'someone'} (attestation fallback)")],
                "", {"verdict": "attested"})  # fmt: skip
        how = " and no live sign-off" if options.fallback == "attestation" else ""
        return outcome_from_findings(
            [_find(RunStatus.FAIL, "missing", Severity.MEDIUM,
                   f"{item!r}: no {options.resolved_family()} report pushed{how} "
                   f"(auditor evidence push --item {item!r})")],
            "", {"verdict": "missing"})  # fmt: skip


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _stale(facts: Mapping[str, Any], record: Mapping[str, Any], options: EvidenceOptions) -> str:
    now = datetime.fromisoformat(facts["observed_at"])
    when = record.get("finished_at") or record.get("pushed_at")
    max_age = options.effective_max_age()
    if max_age is not None and when:
        age = (now - datetime.fromisoformat(str(when))).total_seconds()
        if age > max_age:
            return f"the report is {age / 86400:.1f} days old (max {max_age / 86400:g} days)"
    deployed = (facts.get("deployed") or {}).get("version")
    if options.staleness() == "version" and deployed and is_older(record.get("version"), deployed):
        return (f"made for version {record.get('version') or '(none)'}, the service now runs "
                f"{deployed} ({facts['deployed'].get('source')})")  # fmt: skip
    return ""


async def _probe(ctx: ProbeContext, url: str) -> dict[str, Any]:
    try:
        res = await ctx.http.fetch(url, timeout=max(0.1, ctx.remaining() / 2), body_cap=4096,
                                   truncate=True)  # fmt: skip
    except ProbeError as exc:
        return {"ok": False, "error": f"is unreachable: {exc.message}"}
    if res.status >= 400:
        return {"ok": False, "error": f"answers HTTP {res.status}"}
    return {"ok": True, "status": res.status}
