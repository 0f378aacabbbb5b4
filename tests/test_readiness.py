"""Score / level / verdict tables, waivers and attestations (pure), and the store loaders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auditor.readiness.model import AttestationInput, CheckInput, ServiceInput, WaiverInput
from auditor.readiness.score import evaluate_service
from auditor.readiness.waivers import validate_waiver

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SVC = ServiceInput(id="s1", name="payments-api")


def chk(name: str, state: str, **kw: Any) -> CheckInput:
    kw.setdefault("last_run_at", NOW - timedelta(seconds=30))
    kw.setdefault("kind", name.split("-")[0])
    return CheckInput(check_id=f"id-{name}", name=name, state=state, **kw)


def ev(*checks: CheckInput, **kw: Any) -> Any:
    return evaluate_service(SVC, list(checks), NOW, **kw)


# -- score ----------------------------------------------------------------------------------

SCORE_CASES = [
    ("all pass", [("a", "pass", "high"), ("b", "pass", "high")], 100),
    ("one warn of two", [("a", "pass", "high"), ("b", "warn", "high")], 75),
    ("one fail of two", [("a", "pass", "high"), ("b", "fail", "high")], 50),
    ("error scores 0", [("a", "pass", "high"), ("b", "error", "high")], 50),
    ("unknown scores 0", [("a", "pass", "high"), ("b", "unknown", "high")], 50),
    ("critical weighs 8", [("a", "fail", "critical"), ("b", "pass", "low")], 11),  # 1/9
    ("medium vs high", [("a", "pass", "medium"), ("b", "fail", "high")], 33),  # 2/6
    ("info is not scored", [("a", "pass", "high"), ("b", "fail", "info")], 100),
    ("only info", [("a", "fail", "info")], 100),
]


@pytest.mark.parametrize(("name", "rows", "score"), SCORE_CASES, ids=[c[0] for c in SCORE_CASES])
def test_score_table(name: str, rows: list[tuple[str, str, str]], score: int) -> None:
    r = ev(*(chk(n, st, severity=sev) for n, st, sev in rows))
    assert r.score == score


def test_no_checks_is_unknown_score_zero() -> None:
    r = ev()
    assert (r.score, r.verdict, r.level) == (0, "unknown", None)


def test_waived_leaves_denominator() -> None:
    w = WaiverInput(
        "w1", "vendor fix pending", "alice", NOW + timedelta(days=3), NOW - timedelta(days=1)
    )
    r = ev(chk("a", "pass"), chk("b", "fail", waiver=w))
    assert r.score == 100
    assert r.check("b").overlay == "waived"


# -- level -----------------------------------------------------------------------------------

LEVEL_CASES = [
    ("all pass", [("bronze", "pass"), ("silver", "pass"), ("gold", "pass")], "gold", None, ()),
    (
        "gold fails",
        [("bronze", "pass"), ("silver", "pass"), ("gold", "fail")],
        "silver",
        "gold",
        ("c2",),
    ),
    (
        "silver fails",
        [("bronze", "pass"), ("silver", "fail"), ("gold", "pass")],
        "bronze",
        "silver",
        ("c1",),
    ),
    ("bronze fails", [("bronze", "fail"), ("silver", "pass")], None, "bronze", ("c0",)),
    ("warn does not block", [("bronze", "warn"), ("silver", "warn")], "gold", None, ()),
    ("unknown blocks", [("bronze", "pass"), ("silver", "unknown")], "bronze", "silver", ("c1",)),
    ("error blocks", [("bronze", "error")], None, "bronze", ("c0",)),
    (
        "no silver checks: vacuous",
        [("bronze", "pass"), ("gold", "fail")],
        "silver",
        "gold",
        ("c1",),
    ),
]


@pytest.mark.parametrize(
    ("name", "rows", "level", "nxt", "blockers"), LEVEL_CASES, ids=[c[0] for c in LEVEL_CASES]
)
def test_level_table(
    name: str,
    rows: list[tuple[str, str]],
    level: str | None,
    nxt: str | None,
    blockers: tuple[str, ...],
) -> None:
    r = ev(*(chk(f"c{i}", st, level=lvl) for i, (lvl, st) in enumerate(rows)))
    assert r.level == level
    assert r.next_level == nxt
    assert r.next_level_blockers == blockers


# -- verdict ---------------------------------------------------------------------------------

VERDICT_CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any], str]] = [
    ("all pass", [{"state": "pass"}, {"state": "pass"}], {}, "ready"),
    ("a warn", [{"state": "pass"}, {"state": "warn"}], {}, "ready_with_warnings"),
    ("bronze fail", [{"state": "pass"}, {"state": "fail"}], {}, "not_ready"),
    (
        "silver fail, bronze required",
        [{"state": "pass"}, {"state": "fail", "level": "silver"}],
        {},
        "ready_with_warnings",
    ),
    (
        "silver fail, silver required",
        [{"state": "pass"}, {"state": "fail", "level": "silver"}],
        {"required_level": "silver"},
        "not_ready",
    ),
    (
        "blocking gold fail",
        [{"state": "pass"}, {"state": "fail", "level": "gold", "blocking": True}],
        {},
        "not_ready",
    ),
    (
        "blocking fail, high score",
        [
            *([{"state": "pass", "severity": "critical"}] * 9),
            {"state": "fail", "severity": "low", "blocking": True, "level": "gold"},
        ],
        {"min_score": 50},
        "not_ready",
    ),
    ("unknown bronze", [{"state": "pass"}, {"state": "unknown"}], {}, "unknown"),
    ("error bronze", [{"state": "pass"}, {"state": "error"}], {}, "unknown"),
    ("fail beats unknown", [{"state": "fail"}, {"state": "unknown"}], {}, "not_ready"),
    (
        "unknown gold only",
        [{"state": "pass"}, {"state": "unknown", "level": "gold"}],
        {},
        "ready_with_warnings",
    ),
    (
        "unknown blocking gold",
        [{"state": "pass"}, {"state": "unknown", "level": "gold", "blocking": True}],
        {},
        "unknown",
    ),
    ("score below min", [{"state": "pass"}, {"state": "warn"}], {"min_score": 80}, "not_ready"),
    (
        "score at min",
        [{"state": "pass"}, {"state": "warn"}],
        {"min_score": 75},
        "ready_with_warnings",
    ),
]


@pytest.mark.parametrize(
    ("name", "rows", "opts", "verdict"), VERDICT_CASES, ids=[c[0] for c in VERDICT_CASES]
)
def test_verdict_table(
    name: str, rows: list[dict[str, Any]], opts: dict[str, Any], verdict: str
) -> None:
    checks = [chk(f"c{i}", **row) for i, row in enumerate(rows)]
    r = ev(*checks, **opts)
    assert r.verdict == verdict, r.reasons
    assert (verdict == "ready") == (r.reasons == ())


def test_unknown_required_level_rejected() -> None:
    with pytest.raises(ValueError):
        ev(chk("a", "pass"), required_level="platinum")


# -- staleness ---------------------------------------------------------------------------------


def test_stale_state_is_unknown() -> None:
    old = chk("a", "pass", interval_s=60, last_run_at=NOW - timedelta(seconds=181))
    r = ev(old)
    c = r.check("a")
    assert (c.state, c.stale, r.verdict) == ("unknown", True, "unknown")
    assert "stale" in c.why


def test_max_age_makes_fresh_enough_data_stale() -> None:
    c = chk("a", "pass", interval_s=3600, last_run_at=NOW - timedelta(minutes=20))
    assert ev(c).verdict == "ready"
    assert ev(c, max_age_s=600).verdict == "unknown"


def test_never_run() -> None:
    r = ev(chk("a", "unknown", last_run_at=None))
    assert r.check("a").why == "no result yet"


# -- waivers -------------------------------------------------------------------------------------


def waiver(days_left: float, created_days_ago: float = 1.0, **kw: Any) -> WaiverInput:
    return WaiverInput(
        id="w",
        reason=kw.get("reason", "ticket OPS-42"),
        created_by="alice",
        expires_at=NOW + timedelta(days=days_left),
        created_at=NOW - timedelta(days=created_days_ago),
    )


def test_waived_failing_check_is_visible_and_does_not_block() -> None:
    r = ev(chk("a", "pass"), chk("b", "fail", waiver=waiver(5)))
    b = r.check("b")
    assert (b.state, b.underlying_state, b.overlay) == ("fail", "fail", "waived")
    assert b.why.startswith("waived — currently failing")
    assert r.verdict == "ready_with_warnings" and r.level == "gold"


def test_waived_passing_check_suggests_removal() -> None:
    r = ev(chk("a", "pass", waiver=waiver(5)))
    assert r.check("a").why.startswith("waived — passing now, remove the waiver?")
    assert r.verdict == "ready"


def test_waiver_expiry_with_frozen_clock() -> None:
    import time_machine

    w = WaiverInput(
        "w", "r", "alice", datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    )
    for when, active in [
        (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), True),
        (datetime(2026, 12, 1, 0, 0, tzinfo=UTC), False),
        (datetime(2026, 12, 2, tzinfo=UTC), False),
    ]:
        with time_machine.travel(when, tick=False):
            now = datetime.now(UTC)
            c = CheckInput("c", "b", "tls", state="fail", last_run_at=now, waiver=w)
            r = evaluate_service(SVC, [c], now)
            assert (r.check("b").overlay == "waived") is active
            assert r.verdict == ("ready_with_warnings" if active else "not_ready")
            if not active:
                assert "waiver expired" in r.check("b").why


def test_waiver_capped_at_90_days() -> None:
    w = waiver(days_left=200, created_days_ago=91)  # asked for 291 days
    assert w.effective_expiry == NOW - timedelta(days=1)
    r = ev(chk("b", "fail", waiver=w))
    assert r.check("b").overlay is None and r.verdict == "not_ready"


@pytest.mark.parametrize(
    ("reason", "expires", "ok"),
    [
        ("ticket", NOW + timedelta(days=10), True),
        ("ticket", NOW + timedelta(days=90), True),
        ("ticket", NOW + timedelta(days=90, seconds=1), False),
        ("", NOW + timedelta(days=1), False),
        ("  ", NOW + timedelta(days=1), False),
        ("ticket", None, False),
        ("ticket", NOW - timedelta(seconds=1), False),
    ],
)
def test_validate_waiver(reason: str, expires: datetime | None, ok: bool) -> None:
    if ok:
        assert validate_waiver(reason, expires, NOW) == expires
    else:
        with pytest.raises(ValueError):
            validate_waiver(reason, expires, NOW)


# -- attestations -----------------------------------------------------------------------------


def att(signed_days_ago: float, expires_in_days: float | None = None) -> AttestationInput:
    return AttestationInput(
        id="a1",
        item="load testing completed",
        signed_by="bob",
        signed_at=NOW - timedelta(days=signed_days_ago),
        expires_at=NOW + timedelta(days=expires_in_days) if expires_in_days is not None else None,
        evidence_url="https://wiki/loadtest",
    )


def test_valid_attestation_counts_as_pass() -> None:
    c = chk("load", "unknown", kind="attestation", last_run_at=None, attestation=att(1, 30))
    r = ev(c)
    assert (r.check("load").state, r.check("load").overlay) == ("pass", "attested")
    assert r.verdict == "ready" and "attested by bob" in r.check("load").why


def test_expired_attestation_falls_back_to_run_state() -> None:
    c = chk("load", "fail", kind="attestation", attestation=att(40, -1))
    r = ev(c)
    assert (r.check("load").state, r.check("load").overlay) == ("fail", None)
    assert r.verdict == "not_ready" and "attestation expired" in r.check("load").why


def test_attestation_max_age() -> None:
    c = chk(
        "load",
        "unknown",
        kind="attestation",
        last_run_at=None,
        attestation=att(100),
        attestation_max_age_s=90 * 86400,
    )
    assert ev(c).check("load").overlay is None


# -- profile ------------------------------------------------------------------------------------


def test_production_profile_lists_not_configured_kinds() -> None:
    svc = ServiceInput(id="s1", name="x", profile="production")
    r = evaluate_service(svc, [chk("tls", "pass"), chk("env", "pass", kind="env")], NOW)
    assert r.not_configured == ("migrations", "backups")
    assert r.verdict == "not_ready"
    assert r.check("migrations").state == "unknown" and r.check("migrations").not_configured
    assert "migrations" in r.next_level_blockers


def test_to_dict_is_json_serialisable() -> None:
    import json

    r = ev(
        chk(
            "a",
            "fail",
            findings=({"code": "tls.expired", "severity": "critical", "message": "expired"},),
        )
    )
    d = json.loads(json.dumps(r.to_dict()))
    assert d["checks"][0]["why"] == "failing — tls.expired: expired"
