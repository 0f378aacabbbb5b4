"""Fixtures for the metrics tests: a populated store and the Flask app over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from auditor.config import parse_config
from auditor.metrics import WorkerMetrics
from auditor.store.db import Database
from tests.metrics.support import T0, make_store, run_round

POPULATED: list[dict[str, Any]] = [
    {
        "name": "payments-api",
        "url": "https://127.0.0.1:9",
        "checks": [
            {"kind": "health", "name": "health", "interval": "5m"},
            {"kind": "health", "name": "ready", "interval": "5m"},
            {"kind": "health", "name": "err", "interval": "5m", "consecutive_error_limit": 1},
            {"kind": "tls", "interval": "5m"},
            {"kind": "headers", "interval": "5m"},
            {"kind": "health", "name": "never", "interval": "5m"},
        ],
    },
    {
        "name": "billing",
        "url": "https://127.0.0.1:10",
        "checks": [{"kind": "health", "interval": "5m"}],
    },
]


@pytest.fixture
def populated(tmp_path: Path) -> Iterator[Database]:
    store = make_store(f"sqlite:///{tmp_path}/auditor.db", POPULATED, now=T0)
    run_round(
        store,
        T0,
        {
            ("payments-api", "health"): "pass",
            ("payments-api", "ready"): "fail",
            ("payments-api", "err"): "error",
            ("payments-api", "tls"): "pass",
            ("payments-api", "headers"): "warn",
            ("billing", "health"): "warn",
        },
        facts={
            ("payments-api", "tls"): {"not_after_ts": T0.timestamp() + 10 * 86400},
            ("payments-api", "headers"): {"observatory": {"score": 55, "grade": "C"}},
        },
    )
    yield store
    store.close()


def make_app(store: Database, token_env: str | None = None) -> tuple[Flask, WorkerMetrics]:
    """The real app factory over ``store``, with a worker that observed a few runs."""
    from web import create_app

    raw: dict[str, object] = {"services": []}
    if token_env is not None:
        raw["auditor"] = {"metrics_token_env": token_env}
    config = parse_config(raw, environ={})
    worker_metrics = WorkerMetrics()
    worker_metrics.observe_lag(0.3)
    worker_metrics.observe_lag(42.0)
    worker_metrics.observe_run("health", 0.12)
    worker_metrics.observe_run("tls", 1.7)
    app = create_app(config, store, worker_metrics=worker_metrics, test_config={"TESTING": True})
    return app, worker_metrics


@pytest.fixture
def app(populated: Database) -> Flask:
    return make_app(populated)[0]
