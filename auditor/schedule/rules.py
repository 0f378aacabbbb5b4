"""The pure scheduling rules the store applies when it completes runs, handed to it from here.

The store sits below the scheduler, so it cannot import the state machine, the triggers or
the quorum rule; workers and one-shot audits pass ``COMPLETION_RULES`` to
``auditor.store.runs.complete``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auditor.schedule.quorum import Combined, LocationView, combine
from auditor.schedule.state import StateSnapshot, Thresholds, effective, next_state
from auditor.schedule.triggers import next_fire
from auditor.store.runs import CompletionRules, Counters, Limits


def _next_state(prev: Counters, raw: str, at: datetime, limits: Limits) -> StateSnapshot:
    return next_state(StateSnapshot(**prev), raw, at, Thresholds(**limits))


def combine_rows(
    rows: list[dict[str, Any]], quorum: int, interval_s: float, now: datetime
) -> Combined:
    """The quorum rule over the store's location rows (a stale location's state is unknown)."""
    views = [
        LocationView(
            location=r["location"],
            state=effective(r["state"], r["last_run_at"], interval_s, now),
            live=r["live"],
            findings=r["findings"],
        )
        for r in rows
    ]
    return combine(views, quorum)


COMPLETION_RULES = CompletionRules(next_state=_next_state, next_due=next_fire, combine=combine_rows)
