"""The quorum rule (pure): a located check fails only when ``quorum`` locations confirm it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.schedule.quorum import LocationView, combine, default_quorum
from auditor.schedule.rules import combine_rows

BAD = [{"code": "health.status", "severity": "high", "message": "HTTP 500"}]


def views(**states: str) -> list[LocationView]:
    return [
        LocationView(name, state, findings=BAD if state == "fail" else ())
        for name, state in states.items()
    ]


def test_one_failing_location_of_three_is_not_confirmed_at_quorum_2() -> None:
    got = combine(views(a="pass", b="pass", c="fail"), quorum=2)
    assert got.state == "pass"
    assert got.failing == ("c",)
    assert [f["code"] for f in got.findings] == ["location.unconfirmed"]
    assert got.findings[0]["location"] == "c" and got.findings[0]["severity"] == "info"
    assert "failing from c" in got.summary


def test_two_failing_locations_confirm_the_failure() -> None:
    got = combine(views(a="pass", b="fail", c="fail"), quorum=2)
    assert got.state == "fail"
    assert got.failing == ("b", "c")
    # the confirming locations' own findings, each saying where it was seen
    assert [(f["code"], f["location"]) for f in got.findings] == [
        ("health.status", "b"),
        ("health.status", "c"),
    ]


def test_quorum_1_fails_on_any_location_and_quorum_3_needs_all() -> None:
    assert combine(views(a="pass", b="pass", c="fail"), quorum=1).state == "fail"
    assert combine(views(a="fail", b="fail", c="pass"), quorum=3).state == "pass"
    assert combine(views(a="fail", b="fail", c="fail"), quorum=3).state == "fail"


def test_the_state_is_the_worst_one_quorum_locations_confirm() -> None:
    assert combine(views(a="fail", b="warn", c="pass"), quorum=2).state == "warn"
    assert combine(views(a="warn", b="warn", c="pass"), quorum=2).state == "warn"
    assert combine(views(a="warn", b="pass", c="pass"), quorum=2).state == "pass"


def test_a_location_with_no_live_worker_is_a_finding_and_not_a_vote() -> None:
    vs = views(a="pass", b="pass")
    vs.append(LocationView("c", "fail", live=False, findings=BAD))
    got = combine(vs, quorum=2)
    # c's last (stale) failure does not count; its silence is reported and lowers pass to warn
    assert got.state == "warn"
    dark = [f for f in got.findings if f["code"] == "location.no_live_worker"]
    assert len(dark) == 1 and dark[0]["location"] == "c" and dark[0]["severity"] == "high"
    assert "location c has no live worker" in dark[0]["message"]
    assert "no live worker in c" in got.summary


def test_fewer_voters_than_quorum_is_an_error_not_a_pass() -> None:
    vs = [LocationView("a", "pass"), LocationView("b", "pass", live=False)]
    got = combine(vs, quorum=2)
    assert got.state == "error"
    assert {f["code"] for f in got.findings} == {"location.no_live_worker", "location.no_quorum"}


def test_locations_that_have_not_run_yet_are_unknown() -> None:
    got = combine(views(a="unknown", b="unknown", c="pass"), quorum=2)
    assert got.state == "unknown" and got.findings == []


def test_errors_do_not_vote() -> None:
    # one location cannot measure (error): the other two still decide
    assert combine(views(a="error", b="fail", c="fail"), quorum=2).state == "fail"
    assert combine(views(a="error", b="fail", c="pass"), quorum=2).state == "pass"
    assert combine(views(a="error", b="error", c="fail"), quorum=2).state == "error"


def test_stale_location_rows_count_as_unknown() -> None:
    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    rows = [
        {"location": "a", "state": "fail", "last_run_at": now, "live": True, "findings": []},
        {
            "location": "b",
            "state": "fail",
            "last_run_at": now - timedelta(seconds=400),  # > 3 intervals of 60 s
            "live": True,
            "findings": [],
        },
        {"location": "c", "state": "pass", "last_run_at": now, "live": True, "findings": []},
    ]
    assert combine_rows(rows, 2, 60.0, now).state == "pass"
    rows[1]["last_run_at"] = now
    assert combine_rows(rows, 2, 60.0, now).state == "fail"


def test_default_quorum_is_a_majority() -> None:
    assert [default_quorum(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


def test_confirming_findings_say_where_they_were_seen() -> None:
    got = combine(views(a="fail", b="fail", c="pass"), quorum=2)
    assert [f["message"] for f in got.findings] == ["from a: HTTP 500", "from b: HTTP 500"]


def test_the_first_result_after_a_start_waits_for_the_others() -> None:
    # a reported, b is live but has not run yet, c is dark: b may still make the quorum
    vs = [
        LocationView("a", "pass"),
        LocationView("b", "unknown"),
        LocationView("c", "unknown", live=False),
    ]
    got = combine(vs, quorum=2)
    assert got.state == "unknown"
    assert [f["code"] for f in got.findings] == ["location.no_live_worker"]
