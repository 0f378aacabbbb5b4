"""Pure evaluation: run every switched-on rule over the catalog facts, drop waived places,
grade each hit by its rule's level and fold them into one outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from checks.base import Finding, Judged, Outcome, RunStatus, Severity, outcome_from_findings
from checks.schema.model import Catalog
from checks.schema.rules import RULES, Hit, Thresholds

#: findings one rule may add to a run; the rest are counted in one more finding
MAX_PER_RULE = 20
#: level -> (run status, finding severity)
LEVELS: dict[str, tuple[RunStatus, Severity]] = {
    "info": (RunStatus.PASS, Severity.INFO),
    "warn": (RunStatus.WARN, Severity.MEDIUM),
    "fail": (RunStatus.FAIL, Severity.HIGH),
}


def waived(hit: Hit, rule: str, allow: Mapping[str, Sequence[str]]) -> bool:
    """True when an allow-list pattern matching the hit's table (or place) lists the rule."""
    if hit.table is None:
        return False
    names = {hit.table.lower(), hit.place.lower()}
    for pattern, rules in allow.items():
        listed = "*" in rules or rule in rules
        if listed and any(fnmatchcase(name, pattern.lower()) for name in names):
            return True
    return False


def evaluate(
    facts: Mapping[str, Any],
    levels: Mapping[str, str],
    allow: Mapping[str, Sequence[str]],
    thresholds: Thresholds,
) -> Outcome:
    """``levels`` overrides each rule's default (``off`` drops it); ``allow`` maps table
    patterns to the rules waived there."""
    catalog = Catalog.from_facts(dict(facts))
    judged: list[Judged] = []
    counts: dict[str, int] = {}
    waived_count = 0
    for rule in RULES.values():
        level = levels.get(rule.id, rule.level)
        if level == "off":
            continue
        status, severity = LEVELS[level]
        code = f"schema.{rule.id}"
        hits = rule.check(catalog, thresholds)
        kept = [h for h in hits if not waived(h, rule.id, allow)]
        waived_count += len(hits) - len(kept)
        if kept and not kept[0].notice:
            counts[rule.id] = len(kept)
        for hit in kept[:MAX_PER_RULE]:
            if hit.notice:
                note = f"{hit.place}: {hit.message}"
                judged.append((RunStatus.PASS, Finding(code, Severity.INFO, note)))
                continue
            message = f"{hit.place}: {hit.message}; fix: {rule.fix}"
            judged.append((status, Finding(code, str(severity), message)))
        if len(kept) > MAX_PER_RULE:
            more = len(kept) - MAX_PER_RULE
            judged.append((status, Finding(code, str(severity), f"… and {more} more {code}")))
    tables = len(catalog.tables)
    where = ", ".join(catalog.schemas) or catalog.dialect
    ok = f"{tables} table(s) in {where} follow the schema rules"
    if catalog.truncated:
        ok = (
            f"the first {tables} tables in {where} follow the schema rules (the rest were not read)"
        )
    derived = {
        "rule_hits": counts,
        "waived": waived_count,
        "tables_audited": tables,
    }
    outcome = outcome_from_findings(judged, ok, derived)
    if outcome.status is RunStatus.PASS and judged:
        # only notices / info findings: the schema passes, the summary says so first
        return Outcome(RunStatus.PASS, f"{ok} ({len(judged)} note(s))", outcome.findings, derived)
    return outcome
