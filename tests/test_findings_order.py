"""Findings an operator can act on: the headline is the most severe finding, lists go most
severe first (then by code), no word is said twice, counts are honest, and a check that
could not measure says why instead of "unknown"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.readiness.model import CheckInput, ServiceInput, WaiverInput
from auditor.readiness.score import evaluate_service
from checks.base import Finding, RunStatus, outcome_from_findings
from checks.env.evaluate import evaluate as evaluate_env
from checks.registry import get_check

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
SVC = ServiceInput(id="s1", name="payments-api")


def chk(name: str, state: str, **kw: Any) -> CheckInput:
    kw.setdefault("last_run_at", NOW - timedelta(seconds=30))
    kw.setdefault("kind", name.split("-")[0])
    return CheckInput(check_id=f"id-{name}", name=name, state=state, **kw)


def finding(code: str, severity: str, message: str) -> dict[str, str]:
    return {"code": code, "severity": severity, "message": message}


# -- a check's headline and finding order -----------------------------------------------------


def test_the_headline_is_the_most_severe_finding_not_the_first_emitted() -> None:
    out = outcome_from_findings(
        [
            (RunStatus.WARN, Finding("x.aardvark", "low", "a low one, emitted first")),
            (RunStatus.FAIL, Finding("x.zebra", "medium", "a medium failure")),
            (RunStatus.FAIL, Finding("x.middle", "critical", "the critical one")),
            (RunStatus.FAIL, Finding("x.alpha", "medium", "another medium failure")),
        ],
        "ok",
    )
    assert out.status is RunStatus.FAIL
    assert out.summary == "the critical one (+3 more findings)"
    assert [f.code for f in out.findings] == ["x.middle", "x.alpha", "x.zebra", "x.aardvark"]


def test_at_equal_severity_a_failure_heads_a_warning() -> None:
    out = outcome_from_findings(
        [
            (RunStatus.WARN, Finding("x.a", "medium", "warns")),
            (RunStatus.FAIL, Finding("x.b", "medium", "fails")),
        ],
        "ok",
    )
    assert out.summary == "fails (+1 more finding)"


def test_tls_headline_is_the_wrong_name_not_the_first_rule_that_fired() -> None:
    # the validity rules run first and find "expires in 3 days" (high); the identity rules
    # then find the certificate is for another host (critical): that is the headline
    tls = get_check("tls")
    leaf = {
        "subject": "CN=x", "self_signed": False, "has_san": True, "san_dns": ["other.example"],
        "san_ip": [], "not_before": "2026-11-01", "not_after": "2026-12-07",
        "not_before_ts": datetime(2026, 11, 1, tzinfo=UTC).timestamp(),
        "not_after_ts": (NOW + timedelta(days=3)).timestamp(),
        "key_type": "EC", "key_size": 256, "signature_hash": "sha256",
    }  # fmt: skip
    facts = {
        "host": "x.example",
        "checked_at_ts": NOW.timestamp(),
        "chain": [leaf],
        "trust": {"status": "trusted", "store": "ca_file", "path": [0]},
        "legacy_protocols": {"TLSv1": True},
        "client_verify": {"ok": False, "message": "Hostname mismatch"},
    }
    out = tls.evaluate(facts, tls.Options())
    codes = [f.code for f in out.findings]
    assert codes == ["tls.hostname_mismatch", "tls.expiring", "tls.legacy_protocol"]
    assert out.summary == (
        "the certificate is not valid for x.example: it covers other.example (+2 more findings)"
    )


# -- honest counts ---------------------------------------------------------------------------


def test_other_findings_are_not_counted_as_more_variables() -> None:
    out = evaluate_env(
        {
            "missing": ["SENTRY_DSN"],
            "names": {
                "API_TOKEN": ["placeholder"],
                "SECRET_KEY": ["weak_secret"],
                "ADMIN_PASSWORD": ["default_credential"],
            },
        }
    )
    missing = next(f for f in out.findings if f.code == "env.missing")
    assert missing.message == "required setting(s) missing: SENTRY_DSN"
    # the headline is the critical finding; the tail counts findings, not variables
    assert out.summary == "default credential(s) in: ADMIN_PASSWORD (+3 more findings)"
    assert "SENTRY_DSN (+" not in out.summary


def test_an_alert_counts_the_findings_it_leaves_out_as_findings() -> None:
    from auditor.alerting.render import finding_lines

    findings = [finding(f"env.rule_{i:02d}", "high", f"problem {i}") for i in range(12)]
    lines = finding_lines({"findings": findings}, limit=10)
    assert len(lines) == 11 and lines[-1] == "… and 2 more findings"


def test_more_variables_are_counted_as_variables() -> None:
    names = [f"VAR_{i:02d}" for i in range(13)]
    out = evaluate_env({"missing": names})
    assert out.summary == ("required setting(s) missing: " + ", ".join(names[:10]) + " (+3 more)")


# -- readiness reasons -------------------------------------------------------------------------


def test_a_failing_reason_says_failing_once() -> None:
    r = evaluate_service(
        SVC,
        [chk("tls", "fail", findings=(finding("tls.expired", "critical", "the leaf expired"),))],
        NOW,
    )
    assert r.reasons == ("tls: bronze check failing — tls.expired: the leaf expired",)
    assert all(reason.count("failing") == 1 for reason in r.reasons)


def test_reasons_go_most_severe_first_not_alphabetically() -> None:
    r = evaluate_service(
        SVC,
        [
            chk(
                "aaa-low",
                "fail",
                severity="low",
                findings=(finding("health.status", "high", "HTTP 500"),),
            ),
            chk(
                "mmm-high",
                "fail",
                severity="high",
                findings=(finding("headers.grade", "medium", "grade D"),),
            ),
            chk(
                "zzz-critical",
                "fail",
                severity="critical",
                findings=(finding("tls.expired", "critical", "expired"),),
            ),
            chk(
                "bbb-high",
                "fail",
                severity="high",
                findings=(finding("env.missing", "high", "SENTRY_DSN missing"),),
            ),
        ],
        NOW,
    )
    assert [reason.split(":")[0] for reason in r.reasons] == [
        "zzz-critical",  # the most severe check
        "bbb-high",  # high check, high finding
        "mmm-high",  # high check, medium finding
        "aaa-low",
    ]


def test_a_waived_failure_says_failing_once() -> None:
    waiver = WaiverInput("w", "vendor fix", "alice", NOW + timedelta(days=3), NOW)
    r = evaluate_service(
        SVC,
        [chk("tls", "fail", waiver=waiver, findings=(finding("tls.expired", "high", "gone"),))],
        NOW,
    )
    why = r.check("tls").why
    assert why.startswith("waived — currently failing — tls.expired: gone; until ")
    assert why.count("failing") == 1


# -- could not measure -------------------------------------------------------------------------

TLS_ERROR = (
    "TLS verification of https://api.example failed: the certificate chain of api.example is "
    "not trusted (unable to get local issuer certificate): trust this CA with the check's "
    "ca_file option, or fix the chain the server sends"
)


def test_an_error_check_says_why_on_the_readiness_list() -> None:
    r = evaluate_service(SVC, [chk("health", "error", raw_status="error", summary=TLS_ERROR)], NOW)
    assert r.verdict == "unknown"
    assert r.reasons == (f"health: could not measure: {TLS_ERROR}",)


def test_a_check_whose_first_runs_errored_is_not_a_bare_unknown() -> None:
    # below consecutive_error_limit the state stays "unknown", the run says why
    r = evaluate_service(
        SVC, [chk("health", "unknown", raw_status="error", summary=TLS_ERROR)], NOW
    )
    assert r.check("health").why == f"could not measure: {TLS_ERROR}"
    assert r.reasons == (f"health: could not measure: {TLS_ERROR}",)
    bare = evaluate_service(SVC, [chk("health", "unknown")], NOW)
    assert not any(reason.endswith(": unknown") for reason in bare.reasons), bare.reasons


def test_a_passing_check_whose_last_run_errored_says_so() -> None:
    r = evaluate_service(SVC, [chk("health", "pass", raw_status="error", summary=TLS_ERROR)], NOW)
    assert r.check("health").why == f"passing — last run could not measure: {TLS_ERROR}"


def test_the_gate_text_says_each_state_once() -> None:
    from auditor.readiness.gate import render_text

    r = evaluate_service(
        SVC,
        [
            chk(
                "tls",
                "fail",
                blocking=True,
                findings=(finding("tls.expired", "critical", "the leaf expired"),),
            ),
            chk("headers", "warn", findings=(finding("headers.grade", "medium", "grade C"),)),
            chk("health", "pass"),
        ],
        NOW,
    )
    text = render_text(r)
    assert "  FAIL    tls (tls): tls.expired: the leaf expired" in text
    assert "  WARN    headers (headers, bronze): headers.grade: grade C" in text
    assert "  PASS    health (health, bronze)\n" in text
    assert "failing" not in text.split("checks:", 1)[1]
    assert "tls: blocking check failing — tls.expired: the leaf expired" in text
