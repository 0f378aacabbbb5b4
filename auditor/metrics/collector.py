"""The scrape-time collector: reads the store on every ``collect()``, never keeps a series.

A removed or disabled check simply stops appearing: there is no series to forget.
``describe()`` is implemented, so registering the collector does not touch the database.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from auditor.metrics.families import empty_families, fill_checks, fill_counters, fill_readiness
from auditor.metrics.locations import location_families
from auditor.metrics.snapshot import CheckRow, read_snapshot
from auditor.store.db import Database
from auditor.store.models import utcnow

log = structlog.get_logger("auditor.metrics")

ReadinessLoader = Callable[[Database, datetime], Mapping[str, Any]]
#: readiness per service id, plus the check rows when they were read with it (else ``None``)
FleetLoader = Callable[[Database, datetime], tuple[Mapping[str, Any], list[CheckRow] | None]]


def default_readiness_loader() -> ReadinessLoader | None:
    """``auditor.readiness.queries.load_all_readiness``: score and verdict per service id."""
    module = importlib.import_module("auditor.readiness.queries")
    loader: ReadinessLoader | None = getattr(module, "load_all_readiness_cached", None)
    return loader


class StoreCollector(Collector):
    """Custom collector over the latest-state table; see the module docstring."""

    def __init__(
        self,
        store: Database,
        *,
        now: Callable[[], datetime] = utcnow,
        readiness: ReadinessLoader | None = None,
        fleet: FleetLoader | None = None,
    ) -> None:
        self.store = store
        self.now = now
        self.readiness = readiness
        self.fleet = fleet

    def describe(self) -> Iterable[Metric]:
        """Names and types only: registration must not query the database."""
        has_readiness = self.readiness is not None or self.fleet is not None
        return list(empty_families(readiness=has_readiness).values())

    def collect(self) -> Iterable[Metric]:
        started = time.perf_counter()
        now = self.now()
        try:
            readiness: Mapping[str, Any] | None = None
            if self.fleet is not None:  # a fresh evaluation brings the check rows along
                readiness, rows = self.fleet(self.store, now)
                snap = read_snapshot(self.store, rows)
            else:
                snap = read_snapshot(self.store)
                readiness = self.readiness(self.store, now) if self.readiness else None
        except Exception as exc:  # a scrape must still answer (with the failure visible)
            log.error("metrics_store_read_failed", error=repr(exc))
            yield from self._scrape_status(False, started)
            return
        families = empty_families(readiness=readiness is not None)
        fill_checks(families, snap.checks, now)
        fill_counters(families, snap)
        if readiness is not None:
            fill_readiness(families, snap.checks, readiness)
        try:
            located = list(location_families(self.store, now))
        except Exception as exc:  # the per-check families above still answer
            log.error("metrics_location_read_failed", error=repr(exc))
            located = []
        yield from families.values()
        yield from located
        yield from self._scrape_status(True, started)

    @staticmethod
    def _scrape_status(ok: bool, started: float) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "auditor_store_scrape_success",
            "1 when this scrape could read the store, else 0",
            value=1.0 if ok else 0.0,
        )
        yield GaugeMetricFamily(
            "auditor_store_scrape_duration_seconds",
            "Time this scrape spent reading the store",
            value=time.perf_counter() - started,
        )
