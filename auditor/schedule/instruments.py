"""The worker's own observations (scheduler lag, run duration) as histograms.

:class:`WorkerMetrics` keeps them on a private registry owned by the worker;
:class:`SharedWorkerHistograms` mirrors them in shared memory for the web processes ``serve``
forks.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


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
