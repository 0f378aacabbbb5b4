"""Effective check state from raw runs (pure): thresholds so one blip does not flip a check.

Rules (DESIGN §3, reference/readiness.md §2.3):
- the first measured result sets the state directly (a new, failing check is ``fail`` at
  once); after an ``error`` state (we could not tell) the next measurement does the same;
- leaving an established state needs ``failure_threshold`` consecutive ``fail`` runs to go
  to ``fail`` and ``success_threshold`` consecutive ``pass`` runs to go to ``pass``;
- ``warn`` sits between the two and is debounced with the same thresholds: from ``pass``,
  ``failure_threshold`` consecutive non-pass runs (warn *or* fail, so an alternating
  warn/fail signal cannot hide behind the counters) make it ``warn``; from ``fail``,
  ``success_threshold`` consecutive non-fail runs make it ``warn`` (or ``pass`` when they
  were all passes); from ``warn`` only a full fail streak or a full pass streak moves it;
- ``error`` runs never count as failures and leave the other counters untouched;
  ``consecutive_error_limit`` errors in a row make the state ``error``; any measured run
  resets the error counter;
- staleness (no run within 3 intervals) is applied at read time by :func:`effective`.

``StateSnapshot.consecutive_warn`` is the *drift* counter: consecutive measured runs pointing
towards ``warn`` from the current state (non-pass runs while ``pass``, non-fail runs while
``fail``); it restarts at every state change. (The store persists it as
``check_state.metrics["_consecutive_warn"]``.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

STATES = ("pass", "warn", "fail", "error", "unknown")
STALE_INTERVALS = 3


@dataclass(frozen=True)
class Thresholds:
    failure_threshold: int = 2
    success_threshold: int = 1
    consecutive_error_limit: int = 4


@dataclass(frozen=True)
class StateSnapshot:
    """What the latest-state table keeps between runs."""

    state: str = "unknown"
    since: datetime | None = None
    consecutive_fail: int = 0
    consecutive_pass: int = 0
    consecutive_warn: int = 0
    consecutive_error: int = 0


def next_state(prev: StateSnapshot, raw: str, at: datetime, th: Thresholds) -> StateSnapshot:
    """Fold one raw run status into the snapshot; ``since`` moves only when the state changes."""
    if raw not in ("pass", "warn", "fail", "error"):
        raise ValueError(f"unknown raw status {raw!r}")
    cf, cp, drift, ce = (
        prev.consecutive_fail,
        prev.consecutive_pass,
        prev.consecutive_warn,
        prev.consecutive_error,
    )
    if raw == "error":
        ce += 1
        state = "error" if ce >= th.consecutive_error_limit else prev.state
    else:
        ce = 0
        cf = cf + 1 if raw == "fail" else 0
        cp = cp + 1 if raw == "pass" else 0
        if prev.state == "pass":
            drift = drift + 1 if raw != "pass" else 0
        elif prev.state == "fail":
            drift = drift + 1 if raw != "fail" else 0
        else:
            drift = 0
        state = _decide(prev.state, raw, cf, cp, drift, th)
    if state != prev.state:
        drift = 0
    since = prev.since if state == prev.state and prev.since is not None else at
    return StateSnapshot(state, since, cf, cp, drift, ce)


def _decide(prev: str, raw: str, cf: int, cp: int, drift: int, th: Thresholds) -> str:
    if prev in ("unknown", "error"):
        return raw
    if prev == "pass":
        if cf >= th.failure_threshold:
            return "fail"
        return "warn" if drift >= th.failure_threshold else "pass"
    if prev == "fail":
        if cp >= th.success_threshold:
            return "pass"
        return "warn" if drift >= th.success_threshold else "fail"
    # prev == "warn"
    if cf >= th.failure_threshold:
        return "fail"
    if cp >= th.success_threshold:
        return "pass"
    return "warn"


def is_stale(last_run_at: datetime | None, interval_s: float, now: datetime) -> bool:
    """No run within ``STALE_INTERVALS`` intervals: the stored state can no longer be trusted."""
    if last_run_at is None:
        return True
    return now - last_run_at > timedelta(seconds=STALE_INTERVALS * interval_s)


def effective(
    snapshot_state: str, last_run_at: datetime | None, interval_s: float, now: datetime
) -> str:
    """State as shown: ``unknown`` when stale, else the stored effective state."""
    if is_stale(last_run_at, interval_s, now):
        return "unknown"
    return snapshot_state


def with_state(snapshot: StateSnapshot, state: str, at: datetime) -> StateSnapshot:
    return replace(snapshot, state=state, since=at)
