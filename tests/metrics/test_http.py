"""/metrics over HTTP: exposition, content negotiation, optional bearer token."""

from __future__ import annotations

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from auditor.store.db import Database
from tests.metrics.conftest import make_app

CONTRACT = {
    "auditor_check_status",
    "auditor_check_success",
    "auditor_check_duration_seconds",
    "auditor_check_last_run_timestamp_seconds",
    "auditor_tls_cert_expiry_timestamp_seconds",
    "auditor_headers_score",
    "auditor_runs",
    "auditor_scheduler_lag_seconds",
    "auditor_run_duration_seconds",
    "auditor_alert_deliveries",
    "auditor_outbox_pending",
    "process_cpu_seconds",
}


def test_it_serves_every_contract_family(app: Flask) -> None:
    resp = app.test_client().get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    names = {f.name for f in text_string_to_metric_families(resp.get_data(as_text=True))}
    assert names >= CONTRACT
    assert resp.headers["Cache-Control"] == "no-store"


def test_it_speaks_openmetrics_when_asked(app: Flask) -> None:
    resp = app.test_client().get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
    assert resp.get_data(as_text=True).rstrip().endswith("# EOF")


def test_worker_histograms_are_exposed(app: Flask) -> None:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'auditor_scheduler_lag_seconds_bucket{le="60.0"} 2.0' in text
    assert 'auditor_run_duration_seconds_count{kind="tls"} 1.0' in text


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TEST_METRICS_TOKEN", "s3cret-token")
    return "TEST_METRICS_TOKEN"


def test_bearer_token_is_required_when_configured(populated: Database, token_env: str) -> None:
    app, _ = make_app(populated, token_env)
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic czNjcmV0"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert ok.status_code == 200
    assert "auditor_check_status" in ok.get_data(as_text=True)


def test_a_named_but_unset_token_fails_closed(
    populated: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UNSET_METRICS_TOKEN", raising=False)
    app, _ = make_app(populated, "UNSET_METRICS_TOKEN")
    resp = app.test_client().get("/metrics", headers={"Authorization": "Bearer "})
    assert resp.status_code == 503
