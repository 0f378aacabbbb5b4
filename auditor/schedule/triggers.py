"""Next due time of a check, from APScheduler's triggers; the result lives in the database.

Interval checks are anchored at a per-check offset derived from the check id, so thousands
of checks with the same interval spread evenly instead of firing together, and a restart
keeps their cadence. Cron checks use ``CronTrigger.from_crontab`` in UTC.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _offset(check_id: str, interval_s: float) -> float:
    digest = hashlib.sha256(check_id.encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return fraction * interval_s


@lru_cache(maxsize=50_000)
def _trigger(
    check_id: str, interval_s: float, schedule: str | None, jitter_s: float
) -> BaseTrigger:
    jitter = int(jitter_s) if jitter_s >= 1 else None
    if schedule:
        return CronTrigger.from_crontab(schedule, timezone=UTC)
    anchor = EPOCH + timedelta(seconds=_offset(check_id, interval_s))
    return IntervalTrigger(seconds=interval_s, start_date=anchor, timezone=UTC, jitter=jitter)


def next_fire(
    check_id: str, interval_s: float, schedule: str | None, after: datetime, jitter_s: float = 0.0
) -> datetime:
    """The first due time strictly after ``after``."""
    trigger = _trigger(check_id, interval_s, schedule, jitter_s)
    probe = after + timedelta(microseconds=1)
    fire = trigger.get_next_fire_time(None, probe)
    if fire is None:  # a cron expression that never fires again
        return after + timedelta(days=3650)
    fire = fire.astimezone(UTC)
    if fire <= after:
        fire = after + timedelta(seconds=max(interval_s, 1.0))
    return fire


def cron_period(schedule: str, samples: int = 16) -> float:
    """The longest gap between consecutive fires of a cron expression (its effective interval).

    Staleness and thresholds reason in intervals; a daily cron check has a 1-day interval,
    and a weekday one is judged by its longest (weekend) gap.
    """
    trigger = CronTrigger.from_crontab(schedule, timezone=UTC)
    fire = trigger.get_next_fire_time(None, EPOCH)
    longest = 0.0
    for _ in range(samples):
        if fire is None:
            break
        nxt = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
        if nxt is None:
            break
        longest = max(longest, (nxt - fire).total_seconds())
        fire = nxt
    return longest or 86400.0
