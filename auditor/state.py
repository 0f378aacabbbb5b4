"""Effective check state from raw runs (pure): thresholds so one blip does not flip a check.

Rules (DESIGN §3, reference/readiness.md §2.3):
- the first result sets the state directly (a new, failing check is ``fail`` at once);
- leaving an established state needs ``failure_threshold`` consecutive fails (warn counts as
  a degraded pass/fail in its own streak) or ``success_threshold`` consecutive passes;
- ``error`` runs never count as failures; ``consecutive_error_limit`` errors in a row make
  the state ``error``;
- staleness (no run within 3 intervals) is applied at read time by :func:`is_stale`.
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
    cf, cp, cw, ce = (
        prev.consecutive_fail,
        prev.consecutive_pass,
        prev.consecutive_warn,
        prev.consecutive_error,
    )
    if raw == "error":
        ce += 1
    else:
        ce = 0
        cf = cf + 1 if raw == "fail" else 0
        cp = cp + 1 if raw == "pass" else 0
        cw = cw + 1 if raw == "warn" else 0
    state = _decide(prev.state, raw, cf, cp, cw, ce, th)
    since = prev.since if state == prev.state and prev.since is not None else at
    return StateSnapshot(state, since, cf, cp, cw, ce)


def _decide(prev: str, raw: str, cf: int, cp: int, cw: int, ce: int, th: Thresholds) -> str:
    if raw == "error":
        return "error" if ce >= th.consecutive_error_limit else prev
    if prev == "unknown":
        return raw
    if raw == "fail":
        return "fail" if prev == "error" or cf >= th.failure_threshold else prev
    if raw == "warn":
        if prev == "pass":
            return "warn" if cw >= th.failure_threshold else prev
        if prev in ("fail", "error"):
            return "warn" if cw >= th.success_threshold else prev
        return "warn"
    return "pass" if cp >= th.success_threshold else prev


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
