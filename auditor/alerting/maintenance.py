"""Maintenance windows: while one is active for a service, its alerts are held back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from auditor.config import MaintenanceModel
from auditor.config.alerting import parse_time
from auditor.store.models import MaintenanceWindow


@dataclass(frozen=True)
class Window:
    """A one-off (start/end) or recurring (cron schedule + duration) maintenance window."""

    name: str
    services: tuple[str, ...] = ()  # empty: every service
    start: datetime | None = None
    end: datetime | None = None
    schedule: str | None = None
    duration_s: float | None = None

    @classmethod
    def from_model(cls, m: MaintenanceModel) -> Window:
        return cls(
            name=m.name,
            services=tuple(m.services),
            start=parse_time(m.start),
            end=parse_time(m.end),
            schedule=m.schedule,
            duration_s=m.duration,
        )

    @classmethod
    def from_row(cls, row: MaintenanceWindow) -> Window:
        return cls(
            name=row.name,
            services=tuple(row.services or ()),
            start=row.starts_at,
            end=row.ends_at,
            schedule=row.schedule,
            duration_s=row.duration_s,
        )

    def active(self, service: str, at: datetime) -> bool:
        if self.services and service not in self.services:
            return False
        if self.schedule:
            if not self.duration_s:
                return False
            from apscheduler.triggers.cron import CronTrigger

            trigger = CronTrigger.from_crontab(self.schedule, timezone="UTC")
            since = at - timedelta(seconds=self.duration_s) + timedelta(microseconds=1)
            fire = trigger.get_next_fire_time(None, since)
            if fire is None or fire > at:
                return False
            return (self.start is None or at >= self.start) and (self.end is None or at < self.end)
        if self.start is None and self.end is None:
            return False
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def in_maintenance(windows: Sequence[Window], service: str, at: datetime) -> bool:
    return any(w.active(service, at) for w in windows)
