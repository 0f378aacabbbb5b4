"""The document rules in one call: which rule functions run, in rule order (pure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from checks.api import lint_paths, lint_responses, lint_security
from checks.api.lint_common import LintContext, Violation

RuleFunc = Callable[[LintContext], list[Violation]]
#: rule id -> the function that reports it (one function may report two rules)
TABLE: dict[str, RuleFunc] = {**lint_paths.RULES, **lint_responses.RULES, **lint_security.RULES}


def lint(ctx: LintContext, enabled: Iterable[str]) -> list[Violation]:
    """Every violation of the enabled document rules, in rule order."""
    wanted = set(enabled)
    out: list[Violation] = []
    done: set[RuleFunc] = set()
    for rule_id, func in TABLE.items():
        if rule_id not in wanted or func in done:
            continue
        done.add(func)
        out.extend(v for v in func(ctx) if v.rule in wanted)
    return out
