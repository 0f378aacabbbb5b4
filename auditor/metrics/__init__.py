"""Prometheus metrics (DESIGN §7): read from the store at scrape time, never kept in globals.

- :class:`~auditor.metrics.collector.StoreCollector` reads the latest-state table (one query
  over ``check_def`` ⋈ ``service`` ⋈ ``check_state``) plus a few tiny tables on every
  ``collect()`` (:mod:`.snapshot`), and fills the families of :mod:`.families`; a removed or
  disabled check simply stops appearing: there is no series to forget.
- Counters that must survive restarts and agree across nodes (``auditor_runs_total``,
  ``auditor_alert_deliveries_total``) are rows of ``metric_counter``, maintained by database
  triggers (migration ``m001_metric_counters``); a scrape reads a handful of rows whatever
  the size of the run history.
- :class:`~auditor.metrics.worker.WorkerMetrics` holds this process's own observations
  (scheduler lag, run duration) in histograms on a private registry owned by the worker.
- :func:`build_registry` puts them together with the process collector in a dedicated
  :class:`~prometheus_client.CollectorRegistry` (never the global ``REGISTRY``).

Every node exposes the same store-derived series; aggregate them with ``max``, not ``sum``,
when several nodes are scraped (the shipped alert rules do).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, ProcessCollector

from auditor.metrics.collector import FleetLoader, ReadinessLoader, StoreCollector
from auditor.schedule.instruments import SharedWorkerHistograms, WorkerMetrics
from auditor.store.db import Database
from auditor.store.models import utcnow

__all__ = ["SharedWorkerHistograms", "StoreCollector", "WorkerMetrics", "build_registry"]


def build_registry(
    store: Database,
    *,
    worker_metrics: WorkerMetrics | None = None,
    readiness: ReadinessLoader | bool | None = True,
    now: Callable[[], datetime] = utcnow,
    process: bool = True,
) -> CollectorRegistry:
    """A dedicated registry for ``/metrics``; ``readiness=True`` uses the shared fleet
    evaluation (``auditor.readiness.queries.load_fleet_cached``)."""
    from auditor.readiness.cache import load_fleet_cached

    loader = None if readiness is True else readiness or None
    fleet: FleetLoader | None = load_fleet_cached if readiness is True else None
    registry = CollectorRegistry(auto_describe=True)
    registry.register(StoreCollector(store, now=now, readiness=loader, fleet=fleet))
    if worker_metrics is not None:
        registry.register(worker_metrics)
    if process:
        ProcessCollector(registry=registry)
    return registry
