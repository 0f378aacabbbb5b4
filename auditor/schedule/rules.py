"""The pure scheduling rules the store applies when it completes runs, handed to it from here.

The store sits below the scheduler, so it cannot import the state machine or the triggers;
workers and one-shot audits pass ``COMPLETION_RULES`` to ``auditor.store.runs.complete``.
"""

from __future__ import annotations

from datetime import datetime

from auditor.schedule.state import StateSnapshot, Thresholds, next_state
from auditor.schedule.triggers import next_fire
from auditor.store.runs import CompletionRules, Counters, Limits


def _next_state(prev: Counters, raw: str, at: datetime, limits: Limits) -> StateSnapshot:
    return next_state(StateSnapshot(**prev), raw, at, Thresholds(**limits))


COMPLETION_RULES = CompletionRules(next_state=_next_state, next_due=next_fire)
