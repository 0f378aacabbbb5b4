"""The shared-memory mirror of the worker's histograms exposes exactly what the histograms do."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from auditor.metrics import SharedWorkerHistograms, WorkerMetrics


def _without_created(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if "_created" not in line]


def test_the_mirror_exposes_the_same_buckets_counts_and_sums() -> None:
    metrics = WorkerMetrics()
    metrics.shared = SharedWorkerHistograms(["health", "tls", "headers"])
    for lag in (0.0, 0.04, 0.05, 0.3, 7.0, 2000.0):
        metrics.observe_lag(lag)
    for kind, seconds in (("health", 0.02), ("health", 0.7), ("tls", 45.0), ("tls", 99.0)):
        metrics.observe_run(kind, seconds)
    metrics.observe_run("unknown-kind", 1.0)  # not mirrored: only known kinds have slots

    direct, mirrored = CollectorRegistry(), CollectorRegistry()
    direct.register(metrics)
    mirrored.register(metrics.shared)
    for encode in (generate_latest, generate_openmetrics):
        ours = _without_created(encode(mirrored))
        theirs = [line for line in _without_created(encode(direct)) if "unknown-kind" not in line]
        assert ours == theirs
    text = generate_latest(mirrored).decode()
    assert 'auditor_run_duration_seconds_count{kind="health"} 2.0' in text
    assert 'auditor_scheduler_lag_seconds_bucket{le="0.05"} 3.0' in text
    assert "headers" not in text  # a kind never run has no series
