"""``evaluate`` is pure: stored facts and options in, status, findings and score out."""

from __future__ import annotations

from typing import Any

from checks.api import ApiCheck, ApiOptions

RULES = {
    "paths.no-verbs": {"severity": "fail", "fix": "drop the verb", "title": "no verbs"},
    "paths.kebab-case": {"severity": "warn", "fix": "kebab it", "title": "kebab"},
    "live.error-leak": {"severity": "fail", "fix": "no traces", "title": "leak"},
    "live.not-found-envelope": {"severity": "warn", "fix": "json 404", "title": "404"},
    "live.list-envelope": {"severity": "warn", "fix": "x", "title": "x"},
    "live.content-type": {"severity": "warn", "fix": "x", "title": "x"},
    "live.options-methods": {"severity": "info", "fix": "x", "title": "x"},
}


def _facts(**extra: Any) -> dict[str, Any]:
    return {
        "version": "3.1.0",
        "validation": {"errors": []},
        "rules": RULES,
        "rules_run": ["paths.no-verbs", "paths.kebab-case"],
        "violations": [],
        "live": None,
        **extra,
    }


def _verb(i: int) -> dict[str, str]:
    return {"rule": "paths.no-verbs", "at": f"/paths/~1get-{i}", "message": f"segment get-{i}"}


def test_clean_facts_pass_with_full_score() -> None:
    out = ApiCheck().evaluate(_facts(), ApiOptions())
    assert (str(out.status), out.findings, out.facts["score"]) == ("pass", (), 100)


def test_findings_are_capped_per_rule_and_counted() -> None:
    out = ApiCheck().evaluate(_facts(violations=[_verb(i) for i in range(12)]), ApiOptions())
    assert str(out.status) == "fail"
    assert len(out.findings) == 5 and {f.code for f in out.findings} == {"api.paths.no-verbs"}
    assert (
        out.findings[-1].message
        == "segment get-4 [at /paths/~1get-4] (+7 more). Fix: drop the verb"
    )
    assert out.facts["violation_counts"] == {"paths.no-verbs": 12}
    assert out.facts["score"] == 50  # one of two rules broken
    assert out.summary == "score 50/100: 1 of 2 rules broken (paths.no-verbs)"


def test_options_override_the_rule_sets_severity() -> None:
    facts = _facts(violations=[_verb(1)])
    out = ApiCheck().evaluate(facts, ApiOptions(rules={"paths.no-verbs": "warn"}))
    assert (str(out.status), out.findings[0].severity) == ("warn", "medium")
    off = ApiCheck().evaluate(facts, ApiOptions(rules={"paths.no-verbs": "off"}))
    assert (str(off.status), off.findings, off.facts["score"]) == ("pass", (), 100)


def test_invalid_document_fails_and_caps_the_score() -> None:
    errors = [f"at /paths/~1x: problem {i}" for i in range(4)]
    out = ApiCheck().evaluate(_facts(validation={"errors": errors}), ApiOptions())
    assert str(out.status) == "fail" and out.facts["score"] == 50
    assert out.findings[0].code == "api.spec_invalid"
    assert out.findings[0].message.endswith("problem 2 (+1 more)")


def test_live_facts_are_judged_and_unanswered_probes_warn() -> None:
    live = {
        "not_found": {"method": "GET", "path": "/api/v1/x", "status": 200, "json": False,
                      "content_type": "text/html", "signatures": ["Werkzeug debugger"]},
        "lists": [{"method": "GET", "path": "/api/v1/users", "error": "connection reset"}],
        "options": [{"method": "OPTIONS", "path": "/api/v1/users", "allow": ["GET", "HEAD", "DELETE"],
                     "documented": ["GET"]}],
    }  # fmt: skip
    out = ApiCheck().evaluate(_facts(live=live), ApiOptions())
    assert str(out.status) == "fail"
    assert [f.code for f in out.findings] == [
        "api.live.error-leak",
        "api.live.not-found-envelope",
        "api.live_unreachable",
        "api.live.options-methods",
    ]
    assert "answered 200, not 404" in out.findings[1].message
    assert "DELETE" in out.findings[3].message and "HEAD" not in out.findings[3].message
    assert out.facts["score"] == round(100 * 4 / 7)


def test_counts_beyond_the_kept_violations_are_reported() -> None:
    facts = _facts(
        violations=[_verb(i) for i in range(20)], violation_totals={"paths.no-verbs": 300}
    )
    out = ApiCheck().evaluate(facts, ApiOptions())
    assert out.findings[-1].message.endswith("(+295 more). Fix: drop the verb")
    assert out.facts["violation_counts"] == {"paths.no-verbs": 300}


def test_base_path_comes_from_the_first_server_without_its_host() -> None:
    from checks.api.model import Spec

    templated = {
        "openapi": "3.1.0",
        "servers": [{"url": "https://{region}.example.com/api/{version}",
                     "variables": {"region": {"default": "eu"}, "version": {"default": "v2"}}}],
    }  # fmt: skip
    assert Spec(templated).base_path() == "/api/v2"
    assert Spec({"openapi": "3.0.3", "servers": [{"url": "/api/v1/"}]}).base_path() == "/api/v1"
    assert Spec({"swagger": "2.0", "basePath": "/v1"}).base_path() == "/v1"
    assert Spec({"openapi": "3.1.0"}).base_path() == ""
