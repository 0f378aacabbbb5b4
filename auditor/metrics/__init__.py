"""Prometheus metrics (DESIGN §7): read from the store at scrape time, never kept in globals.

- :class:`StoreCollector` reads the latest-state table (one query over ``check_def`` ⋈
  ``service`` ⋈ ``check_state``) plus a few tiny tables on every ``collect()``, so a removed
  or disabled check simply stops appearing: there is no series to forget. ``describe()`` is
  implemented, so registering the collector does not touch the database.
- Counters that must survive restarts and agree across nodes (``auditor_runs_total``,
  ``auditor_alert_deliveries_total``) are rows of ``metric_counter``, maintained by database
  triggers (migration ``m001_metric_counters``); a scrape reads a handful of rows whatever
  the size of the run history.
- :class:`WorkerMetrics` holds this process's own observations (scheduler lag, run
  duration) in histograms on a private registry owned by the worker.
- :func:`build_registry` puts them together with the process collector in a dedicated
  :class:`~prometheus_client.CollectorRegistry` (never the global ``REGISTRY``).

Every node exposes the same store-derived series; aggregate them with ``max``, not ``sum``,
when several nodes are scraped (the shipped alert rules do).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry, Histogram, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlmodel import col

from auditor.metrics.exposition import RowsGauge, StateSetGauge
from auditor.readiness.queries import CheckFacts
from auditor.schedule.state import STATES, effective
from auditor.store.db import Database
from auditor.store.models import AlertDelivery, Check, CheckState, Service, Transition, utcnow

log = structlog.get_logger("auditor.metrics")

#: the counters table written by the triggers of migration ``m001_metric_counters``
METRIC_COUNTER = sa.Table(
    "metric_counter",
    sa.MetaData(),
    sa.Column("family", sa.String(32), primary_key=True),
    sa.Column("a", sa.String(63), primary_key=True),
    sa.Column("b", sa.String(32), primary_key=True),
    sa.Column("total", sa.BigInteger, nullable=False),
)

CHECK_LABELS = ["service", "check", "kind"]
#: statuses ``auditor_runs_total`` always shows (zero until the first such run)
RUN_STATUSES = ("pass", "warn", "fail", "error")
DELIVERY_RESULTS = ("delivered", "failed", "suppressed")

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


#: one enabled check with its latest state, as the collector needs it
CheckRow = CheckFacts


@dataclass
class Snapshot:
    """Everything one scrape reads from the store."""

    checks: list[CheckRow] = field(default_factory=list)
    counters: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    transitions_pending: int = 0
    deliveries_pending: int = 0


def read_snapshot(store: Database, checks: list[CheckRow] | None = None) -> Snapshot:
    """A handful of queries, none proportional to history: checks (unless given: read with
    the fleet's readiness, see :class:`StoreCollector`), counters, outbox sizes."""
    snap = Snapshot()
    # ``metrics`` feeds only the tls and headers families: skip decoding it for the rest
    facts = sa.case((col(Check.kind).in_(("tls", "headers")), col(CheckState.metrics)))
    stmt = (
        sa.select(
            col(Service.id),
            col(Service.name),
            col(Check.name),
            col(Check.kind),
            col(Check.interval_s),
            col(CheckState.state),
            col(CheckState.last_run_at),
            col(CheckState.last_duration_ms),
            facts,
        )
        .select_from(Check)
        .join(Service, col(Service.id) == col(Check.service_id))
        .join(CheckState, col(CheckState.check_id) == col(Check.id), isouter=True)
        .where(
            col(Check.enabled).is_(True),
            col(Check.deleted_at).is_(None),
            col(Service.enabled).is_(True),
            col(Service.deleted_at).is_(None),
        )
        .order_by(col(Check.service_id), col(Check.id))  # as load_fleet: same order either way
    )
    empty: Mapping[str, Any] = {}
    with store.read() as s:
        snap.checks = checks if checks is not None else [
            CheckRow(sid, svc, name, kind, float(interval), state, last, took,
                     found if isinstance(found, Mapping) else empty)
            for sid, svc, name, kind, interval, state, last, took, found in s.execute(stmt)
        ]  # fmt: skip
        for family, a, b, total in s.execute(
            sa.select(
                METRIC_COUNTER.c.family,
                METRIC_COUNTER.c.a,
                METRIC_COUNTER.c.b,
                METRIC_COUNTER.c.total,
            )
        ):
            snap.counters.setdefault(family, {})[(a, b)] = int(total)
        snap.transitions_pending = int(
            s.execute(
                sa.select(sa.func.count())
                .select_from(Transition)
                .where(col(Transition.processed_at).is_(None))
            ).scalar_one()
        )
        snap.deliveries_pending = int(
            s.execute(
                sa.select(sa.func.count())
                .select_from(AlertDelivery)
                .where(col(AlertDelivery.status) == "pending")
            ).scalar_one()
        )
    return snap


ReadinessLoader = Callable[[Database, datetime], Mapping[str, Any]]
#: readiness per service id, plus the check rows when they were read with it (else ``None``)
FleetLoader = Callable[[Database, datetime], tuple[Mapping[str, Any], list[CheckRow] | None]]


def default_readiness_loader() -> ReadinessLoader | None:
    """``auditor.readiness.queries.load_all_readiness``: score and verdict per service id."""
    module = importlib.import_module("auditor.readiness.queries")
    loader: ReadinessLoader | None = getattr(module, "load_all_readiness_cached", None)
    return loader


def _ready_value(verdict: Any) -> float:
    """``ready`` and ``ready_with_warnings`` pass the gate (exit 0); anything else does not."""
    return (
        1.0 if str(getattr(verdict, "value", verdict)) in ("ready", "ready_with_warnings") else 0.0
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


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
        return list(_families(readiness=has_readiness).values())

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
        families = _families(readiness=readiness is not None)
        _fill_checks(families, snap.checks, now)
        _fill_counters(families, snap)
        if readiness is not None:
            _fill_readiness(families, snap.checks, readiness)
        yield from families.values()
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


def _families(*, readiness: bool) -> dict[str, Any]:
    """Empty families (GaugeMetricFamily / CounterMetricFamily), keyed by a short name."""
    f: dict[str, Any] = {
        "status": StateSetGauge(
            "auditor_check_status",
            "Effective check state, state-set style: 1 for the current state, 0 for the others",
            [*CHECK_LABELS, "status"],
            STATES,
        ),
        "success": RowsGauge(
            "auditor_check_success",
            "1 when the check's effective state is pass or warn, 0 for fail or error "
            "(absent while unknown: never run or stale)",
            CHECK_LABELS,
        ),
        "duration": RowsGauge(
            "auditor_check_duration_seconds",
            "Duration of the check's last run",
            CHECK_LABELS,
        ),
        "last_run": RowsGauge(
            "auditor_check_last_run_timestamp_seconds",
            "Start time of the check's last run (Unix time)",
            CHECK_LABELS,
        ),
        "cert": RowsGauge(
            "auditor_tls_cert_expiry_timestamp_seconds",
            "notAfter of the leaf certificate the tls check saw last (Unix time)",
            ["service", "check"],
        ),
        "headers": RowsGauge(
            "auditor_headers_score",
            "HTTP Observatory score (algorithm 5) of the headers check's last run",
            ["service", "check"],
        ),
        "runs": CounterMetricFamily(
            "auditor_runs",
            "Check runs stored, by kind and raw run status (all nodes, since the database began)",
            labels=["kind", "status"],
        ),
        "deliveries": CounterMetricFamily(
            "auditor_alert_deliveries",
            "Alert deliveries that reached a final result, by receiver",
            labels=["receiver", "result"],
        ),
        "outbox": GaugeMetricFamily(
            "auditor_outbox_pending",
            "Alert work not done yet: unprocessed transitions and pending deliveries",
            labels=["queue"],
        ),
        "checks": GaugeMetricFamily(
            "auditor_checks",
            "Enabled checks, by kind and effective state",
            labels=["kind", "status"],
        ),
    }
    if readiness:
        f["score"] = RowsGauge(
            "auditor_service_readiness_score",
            "Readiness score of the service, 0-100 (DESIGN §6)",
            ["service"],
        )
        f["ready"] = RowsGauge(
            "auditor_service_ready",
            "1 when the service's verdict is ready or ready_with_warnings, else 0",
            ["service"],
        )
    return f


def _fill_checks(f: dict[str, Any], rows: Iterable[CheckRow], now: datetime) -> None:
    status, success = f["status"], f["success"]
    duration, last_run = f["duration"], f["last_run"]
    cert, headers = f["cert"], f["headers"]
    per_kind: dict[tuple[str, str], int] = {}
    known = frozenset(STATES)
    for row in rows:
        labels = (row.service, row.check, row.kind)
        shown = effective(row.state or "unknown", row.last_run_at, row.interval_s, now)
        if shown not in known:
            shown = "unknown"
        per_kind[(row.kind, shown)] = per_kind.get((row.kind, shown), 0) + 1
        status.add_state(labels, shown)
        if shown != "unknown":
            success.add_metric(labels, 1.0 if shown in ("pass", "warn") else 0.0)
        if row.last_run_at is not None:
            last_run.add_metric(labels, row.last_run_at.timestamp())
            if row.last_duration_ms is not None:
                duration.add_metric(labels, row.last_duration_ms / 1000.0)
        if row.kind == "tls":
            not_after = _number(row.metrics.get("not_after_ts"))
            if not_after is not None:
                cert.add_metric((row.service, row.check), not_after)
        elif row.kind == "headers":
            score = _number(row.metrics.get("score"))
            if score is not None:
                headers.add_metric((row.service, row.check), score)
    for (kind, state), n in sorted(per_kind.items()):
        f["checks"].add_metric([kind, state], float(n))


def _fill_counters(f: dict[str, Any], snap: Snapshot) -> None:
    runs = dict(snap.counters.get("runs", {}))
    for kind in {k for k, _ in runs} | {row.kind for row in snap.checks}:
        for status in RUN_STATUSES:
            runs.setdefault((kind, status), 0)
    for (kind, status), total in sorted(runs.items()):
        f["runs"].add_metric([kind, status], float(total))
    for (receiver, result), total in sorted(snap.counters.get("alert_deliveries", {}).items()):
        f["deliveries"].add_metric([receiver, result], float(total))
    f["outbox"].add_metric(["transitions"], float(snap.transitions_pending))
    f["outbox"].add_metric(["deliveries"], float(snap.deliveries_pending))


def _fill_readiness(
    f: dict[str, Any], rows: Iterable[CheckRow], readiness: Mapping[str, Any]
) -> None:
    names = {row.service_id: row.service for row in rows}
    for service_id, item in readiness.items():
        name = names.get(service_id)
        if name is None:  # disabled / removed service, or one without enabled checks
            name = getattr(item, "service", None) or getattr(item, "name", None)
        if not isinstance(name, str):
            continue
        score = _number(getattr(item, "score", None))
        if score is not None:
            f["score"].add_metric([name], score)
        f["ready"].add_metric([name], _ready_value(getattr(item, "verdict", None)))


class WorkerMetrics(Collector):
    """This process's own observations; histograms live on a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.scheduler_lag = Histogram(
            "auditor_scheduler_lag_seconds",
            "Delay between a check's due time and the moment a worker started it",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.run_duration = Histogram(
            "auditor_run_duration_seconds",
            "Wall-clock duration of check runs in this process, by kind",
            ["kind"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )

        #: a copy in shared memory for forked web processes (``serve`` with web_processes > 1)
        self.shared: SharedWorkerHistograms | None = None

    def observe_lag(self, seconds: float) -> None:
        self.scheduler_lag.observe(max(0.0, seconds))
        if self.shared is not None:
            self.shared.observe(None, max(0.0, seconds))

    def observe_run(self, kind: str, seconds: float) -> None:
        self.run_duration.labels(kind=kind).observe(max(0.0, seconds))
        if self.shared is not None:
            self.shared.observe(kind, max(0.0, seconds))

    def describe(self) -> Iterable[Metric]:
        return self.registry.collect()

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


class SharedWorkerHistograms(Collector):
    """The worker's two histograms mirrored in shared memory made before the fork, so that the
    web processes ``serve`` forks expose the parent's live observations, not a frozen copy.

    One writer (the worker's event loop) and readers that tolerate a scrape seeing one
    observation's bucket before its count, as Prometheus' multiprocess mode does.
    """

    def __init__(self, kinds: Iterable[str]) -> None:
        import multiprocessing

        self.kinds = list(kinds)
        self.created = time.time()
        # per series: one count per bucket (the last is +Inf), then the sum
        self._lag = multiprocessing.RawArray("d", len(LAG_BUCKETS) + 2)
        self._runs = {
            kind: multiprocessing.RawArray("d", len(DURATION_BUCKETS) + 2) for kind in self.kinds
        }

    def observe(self, kind: str | None, seconds: float) -> None:
        """``kind`` None is a scheduler-lag observation; an unknown kind is not mirrored."""
        values, bounds = (
            (self._lag, LAG_BUCKETS) if kind is None else (self._runs.get(kind), DURATION_BUCKETS)
        )
        if values is None:
            return
        for i, bound in enumerate(bounds):
            if seconds <= bound:
                values[i] += 1
                break
        else:
            values[len(bounds)] += 1
        values[len(bounds) + 1] += seconds

    def _family(
        self,
        name: str,
        doc: str,
        bounds: tuple[float, ...],
        series: list[tuple[list[str], Any]],
        labels: list[str],
    ) -> Metric:
        fam = HistogramMetricFamily(name, doc, labels=labels)
        for label_values, values in series:
            counts = list(values)
            running, buckets = 0.0, []
            for bound, count in zip([*bounds, float("inf")], counts, strict=False):
                running += count
                buckets.append((floatToGoString(bound), running))
            if labels and running == 0:
                continue  # a kind this worker never ran: no series, as with a labelled Histogram
            fam.add_metric(label_values, buckets, sum_value=counts[-1])
            fam.add_sample(f"{name}_created", dict(zip(labels, label_values, strict=True)),
                           self.created)  # fmt: skip
        return fam

    def describe(self) -> Iterable[Metric]:
        return self.collect()

    def collect(self) -> Iterable[Metric]:
        yield self._family(
            "auditor_scheduler_lag_seconds",
            "Delay between a check's due time and the moment a worker started it",
            LAG_BUCKETS,
            [([], self._lag)],
            [],
        )
        yield self._family(
            "auditor_run_duration_seconds",
            "Wall-clock duration of check runs in this process, by kind",
            DURATION_BUCKETS,
            [([kind], self._runs[kind]) for kind in self.kinds],
            ["kind"],
        )


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
