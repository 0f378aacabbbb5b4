"""Per-location metric families of located checks (issue #22).

The existing per-check families keep their names and labels and carry the combined (quorum)
state, so no existing query or alert rule changes meaning. Each location's own view is a
new family with a ``location`` label:
``auditor_check_location_status{service,check,kind,location,status}`` (state set, stale →
``unknown``), ``auditor_check_location_duration_seconds{service,check,kind,location}`` and
``auditor_location_live_workers{location}`` (0 for a location that checks name but no
live worker serves: alert on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from auditor.metrics.exposition import RowsGauge, StateSetGauge
from auditor.schedule.state import STATES, effective
from auditor.store.db import Database
from auditor.store.location_reads import live_workers, location_rows

LABELS = ["service", "check", "kind", "location"]


def location_families(store: Database, now: datetime) -> Iterator[Metric]:
    status = StateSetGauge(
        "auditor_check_location_status",
        "Effective state of a located check as seen from one probe location (state set)",
        [*LABELS, "status"],
        STATES,
    )
    duration = RowsGauge(
        "auditor_check_location_duration_seconds",
        "Duration of the located check's last run from this location",
        LABELS,
    )
    workers = GaugeMetricFamily(
        "auditor_location_live_workers",
        "Worker processes of a probe location that beat in the last 30 s",
        labels=["location"],
    )
    rows = location_rows(store, now=now)
    live = live_workers(store, now)
    if not rows and not live:  # no locations in use: no empty families in every scrape
        return
    for row in rows:
        labels = (row.service, row.check, row.kind, row.location)
        status.add_state(labels, effective(row.state, row.last_run_at, row.interval_s, now))
        if row.last_duration_ms is not None:
            duration.add_metric(labels, row.last_duration_ms / 1000.0)
    for location in sorted({r.location for r in rows} | set(live)):
        workers.add_metric([location], float(live.get(location, 0)))
    yield status
    yield duration
    yield workers
