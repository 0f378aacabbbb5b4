"""Pure: names and verdicts in, findings out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.base import Finding, Outcome, RunStatus, Severity, outcome_from_findings

#: verdict -> (status, severity, message template taking the names)
_RULES: dict[str, tuple[RunStatus, str, str]] = {
    "missing": (RunStatus.FAIL, Severity.HIGH, "required setting(s) missing: {names}"),
    "empty": (RunStatus.FAIL, Severity.HIGH, "required setting(s) set but empty: {names}"),
    "placeholder": (RunStatus.FAIL, Severity.HIGH, "placeholder value(s) left in: {names}"),
    "debug_enabled": (
        RunStatus.FAIL,
        Severity.HIGH,
        "debug mode enabled on a production service: {names}",
    ),
    "default_credential": (RunStatus.FAIL, Severity.CRITICAL, "default credential(s) in: {names}"),
    "weak_secret": (
        RunStatus.FAIL,
        Severity.HIGH,
        "weak secret(s) (short, low-diversity or insecure prefix): {names}",
    ),
    "unverifiable": (
        RunStatus.WARN,
        Severity.LOW,
        "value rules not verifiable, the source masks the values of: {names}",
    ),
}
MAX_NAMES = 10
#: the verdicts a finding is made of (``env.<verdict>``)
VERDICT_CODES = tuple(_RULES)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMES])
    return shown + (f" (+{len(names) - MAX_NAMES} more)" if len(names) > MAX_NAMES else "")


def evaluate(facts: Mapping[str, Any]) -> Outcome:
    by_verdict: dict[str, list[str]] = {}
    for name in facts.get("missing", []):
        by_verdict.setdefault("missing", []).append(name)
    for name, verdicts in sorted(facts.get("names", {}).items()):
        for verdict in verdicts:
            by_verdict.setdefault(verdict, []).append(name)
    out: list[tuple[RunStatus, Finding]] = []
    for verdict, (status, severity, template) in _RULES.items():
        names = by_verdict.get(verdict)
        if names:
            msg = template.format(names=_names(names))
            out.append((status, Finding(f"env.{verdict}", severity, msg)))
    if facts.get("values_exposed"):
        out.append(
            (
                RunStatus.FAIL,
                Finding(
                    "env.values_exposed",
                    Severity.HIGH,
                    "the env endpoint serves configuration values unmasked",
                ),
            )
        )
    ok = (
        f"{facts.get('required_count', 0)} required setting(s) present and sane "
        f"({facts.get('source_kind', 'source')})"
    )
    return outcome_from_findings(out, ok)
