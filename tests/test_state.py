"""Threshold / flap tables for the pure effective-state machine (auditor.schedule.state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from auditor.schedule.state import StateSnapshot, Thresholds, effective, is_stale, next_state

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def fold(raws: str, th: Thresholds = Thresholds(), start: StateSnapshot | None = None) -> list[str]:
    """Fold space-separated raw statuses; return the effective state after each run."""
    snap = start or StateSnapshot()
    out = []
    for i, raw in enumerate(raws.split()):
        snap = next_state(snap, raw, T0 + timedelta(minutes=i), th)
        out.append(snap.state)
    return out


CASES = [
    # (name, raws, thresholds (ft, st, el), expected states)
    ("first pass sets pass", "pass", (2, 1, 4), "pass"),
    ("first fail sets fail at once", "fail", (2, 1, 4), "fail"),
    ("first warn sets warn", "warn", (2, 1, 4), "warn"),
    ("first error stays unknown", "error", (2, 1, 4), "unknown"),
    (
        "errors up to the limit",
        "error error error error",
        (2, 1, 4),
        "unknown unknown unknown error",
    ),
    ("single blip does not flip", "pass fail pass", (2, 1, 4), "pass pass pass"),
    ("two fails flip", "pass fail fail", (2, 1, 4), "pass pass fail"),
    ("three needed", "pass fail fail fail", (3, 1, 4), "pass pass pass fail"),
    ("ft=1 flips at once", "pass fail", (1, 1, 4), "pass fail"),
    ("recover with st=1", "fail pass", (2, 1, 4), "fail pass"),
    ("recover with st=2", "fail pass pass", (2, 2, 4), "fail fail pass"),
    ("st=2 broken streak", "fail pass fail pass pass", (2, 2, 4), "fail fail fail fail pass"),
    (
        "flapping pass/fail never flips",
        "pass fail pass fail pass fail",
        (2, 1, 4),
        "pass pass pass pass pass pass",
    ),
    ("warn debounced from pass", "pass warn warn", (2, 1, 4), "pass pass warn"),
    ("alternating warn/fail degrades to warn", "pass warn fail", (2, 1, 4), "pass pass warn"),
    ("warn then fails to fail", "pass warn fail fail", (2, 1, 4), "pass pass warn fail"),
    ("warn to pass with st", "warn pass", (2, 1, 4), "warn pass"),
    ("warn blip fail stays warn", "warn fail warn", (2, 1, 4), "warn warn warn"),
    ("fail to warn with st=1", "fail warn", (2, 1, 4), "fail warn"),
    ("fail to warn with st=2", "fail warn pass", (2, 2, 4), "fail fail warn"),
    (
        "errors never count as fails",
        "pass error error error fail",
        (2, 1, 4),
        "pass pass pass pass pass",
    ),
    ("errors keep fail streak untouched", "pass fail error fail", (2, 1, 5), "pass pass pass fail"),
    (
        "error state then measurement sets directly",
        "pass error error pass",
        (2, 1, 2),
        "pass pass error pass",
    ),
    ("error state then fail sets fail", "pass error error fail", (2, 1, 2), "pass pass error fail"),
    (
        "measured run resets error counter",
        "pass error pass error",
        (2, 1, 2),
        "pass pass pass pass",
    ),
]


@pytest.mark.parametrize(("name", "raws", "th", "expected"), CASES, ids=[c[0] for c in CASES])
def test_threshold_table(name: str, raws: str, th: tuple[int, int, int], expected: str) -> None:
    assert fold(raws, Thresholds(*th)) == expected.split()


def test_since_moves_only_on_change() -> None:
    th = Thresholds()
    s1 = next_state(StateSnapshot(), "pass", T0, th)
    s2 = next_state(s1, "fail", T0 + timedelta(minutes=1), th)
    s3 = next_state(s2, "fail", T0 + timedelta(minutes=2), th)
    assert s1.since == T0 and s2.since == T0
    assert s3.state == "fail" and s3.since == T0 + timedelta(minutes=2)
    assert s3.consecutive_fail == 2 and s3.consecutive_warn == 0


def test_counters_survive_error_runs() -> None:
    snap = fold_snap("pass fail error")
    assert snap.consecutive_fail == 1 and snap.consecutive_error == 1


def fold_snap(raws: str, th: Thresholds = Thresholds()) -> StateSnapshot:
    snap = StateSnapshot()
    for i, raw in enumerate(raws.split()):
        snap = next_state(snap, raw, T0 + timedelta(minutes=i), th)
    return snap


def test_unknown_raw_rejected() -> None:
    with pytest.raises(ValueError):
        next_state(StateSnapshot(), "bogus", T0, Thresholds())


@pytest.mark.parametrize(("age_s", "stale"), [(0, False), (899, False), (900, False), (901, True)])
def test_staleness_three_intervals(age_s: int, stale: bool) -> None:
    now = T0 + timedelta(seconds=age_s)
    assert is_stale(T0, 300.0, now) is stale
    assert effective("fail", T0, 300.0, now) == ("unknown" if stale else "fail")


def test_never_run_is_unknown() -> None:
    assert effective("pass", None, 300.0, T0) == "unknown"
