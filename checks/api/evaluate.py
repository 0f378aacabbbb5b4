"""Facts -> Outcome for the ``api`` kind (pure): severities, per-service switches, the score.

A rule's severity comes from the rule set that ran (stored in the facts) unless the check's
``rules`` option overrides it. Findings are ``api.<rule id>``, one per place (JSON pointer,
or the live request) with the rule's one-line fix, at most a few per rule so that a large
document cannot flood the dashboard; the facts keep the counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.api.live_rules import LIVE_RULES, live_violations, probe_errors
from checks.base import Finding, Judged, Outcome, RunStatus, Severity, worst_status

#: findings per rule (the rest are counted in the last one's message)
PER_RULE = 5
STATUS_OF = {"info": RunStatus.PASS, "warn": RunStatus.WARN, "fail": RunStatus.FAIL}
SEVERITY_OF = {"info": Severity.INFO, "warn": Severity.MEDIUM, "fail": Severity.HIGH}


def level_of(rule: str, facts: Mapping[str, Any], overrides: Mapping[str, str]) -> str:
    if rule in overrides:
        return overrides[rule]
    meta = (facts.get("rules") or {}).get(rule) or {}
    return str(meta.get("severity", "off"))


def _judge_rules(
    facts: Mapping[str, Any], overrides: Mapping[str, str]
) -> tuple[list[Judged], dict[str, int], list[str]]:
    """Findings for every violated, enabled rule; counts per rule; the rules that ran."""
    rules = facts.get("rules") or {}
    violations = [
        *(facts.get("violations") or []),
        *(v.to_dict() for v in live_violations(facts.get("live"))),
    ]
    ran = [r for r in facts.get("rules_run") or [] if level_of(r, facts, overrides) != "off"]
    if facts.get("live"):
        ran += [r for r in LIVE_RULES if level_of(r, facts, overrides) != "off"]
    counts: dict[str, int] = {}
    by_rule: dict[str, list[Mapping[str, Any]]] = {}
    for v in violations:
        if v["rule"] in ran:
            by_rule.setdefault(v["rule"], []).append(v)
    judged: list[Judged] = []
    totals = facts.get("violation_totals") or {}
    for rule, items in by_rule.items():
        level = level_of(rule, facts, overrides)
        counts[rule] = max(len(items), int(totals.get(rule, 0)))
        fix = (rules.get(rule) or {}).get("fix", "")
        shown = items[:PER_RULE]
        for i, v in enumerate(shown):
            more = counts[rule] - len(shown)
            tail = f" (+{more} more)" if more and i == len(shown) - 1 else ""
            at = "" if v["at"] in v["message"] else f" [at {v['at']}]"
            message = f"{v['message']}{at}{tail}. Fix: {fix}"
            judged.append((STATUS_OF[level], Finding(f"api.{rule}", SEVERITY_OF[level], message)))
    return judged, counts, ran


def evaluate(facts: Mapping[str, Any], overrides: Mapping[str, str]) -> Outcome:
    judged, counts, ran = _judge_rules(facts, overrides)
    errors = (facts.get("validation") or {}).get("errors") or []
    if errors:
        shown = "; ".join(errors[:3]) + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else "")
        judged.insert(
            0,
            (
                RunStatus.FAIL,
                Finding(
                    "api.spec_invalid",
                    Severity.HIGH,
                    f"the OpenAPI document does not validate ({facts.get('version')}): {shown}",
                ),
            ),
        )
    for problem in probe_errors(facts.get("live")):
        judged.append(
            (
                RunStatus.WARN,
                Finding("api.live_unreachable", Severity.LOW, f"live probe failed: {problem}"),
            )
        )
    broken = [r for r in ran if r in counts]
    score = round(100 * (len(ran) - len(broken)) / len(ran)) if ran else 100
    if errors:
        score = min(score, 50)
    derived = {"score": score, "rules_broken": broken, "violation_counts": counts}
    status = worst_status([s for s, _ in judged])
    ordered = sorted(judged, key=lambda p: -["pass", "warn", "fail", "error"].index(str(p[0])))
    if not judged:
        summary = f"the API follows the conventions: {len(ran)} rules pass (score {score}/100)"
    elif not broken and not errors:
        summary = f"score {score}/100; {ordered[0][1].message}"
    else:
        named = ", ".join(broken[:3]) + (f" +{len(broken) - 3}" if len(broken) > 3 else "")
        invalid = "document invalid; " if errors else ""
        summary = f"score {score}/100: {invalid}{len(broken)} of {len(ran)} rules broken ({named})"
    return Outcome(status, summary, tuple(f for _, f in ordered), derived)
