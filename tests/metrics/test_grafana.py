"""The Grafana dashboard: valid JSON, the expected panels, only metrics we export."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "auditor.json"


def load() -> dict:  # type: ignore[type-arg]
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def test_it_has_the_expected_panels() -> None:
    dash = load()
    assert dash["uid"] == "auditor-overview"
    by_title = {p["title"]: p for p in dash["panels"]}
    for title, metric in [
        ("Readiness by service", "auditor_service_readiness_score"),
        ("Failing checks (table)", "auditor_check_status"),
        ("Certificate expiry", "auditor_tls_cert_expiry_timestamp_seconds"),
        ("Scheduler lag (p50 / p95 / p99)", "auditor_scheduler_lag_seconds_bucket"),
    ]:
        assert title in by_title, title
        assert any(metric in t["expr"] for t in by_title[title]["targets"]), title
    assert by_title["Certificate expiry"]["type"] == "table"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${datasource}"
        assert {"x", "y", "w", "h"} <= set(p["gridPos"])
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert {"datasource", "service"} <= variables


def test_it_queries_only_metrics_that_exist(app: Flask) -> None:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    exported |= {"auditor_service_readiness_score", "auditor_service_ready"}  # readiness
    used = {
        name
        for p in load()["panels"]
        for t in p["targets"]
        for name in re.findall(r"\bauditor_[a-z_]+\b", t["expr"])
    }
    assert used and used <= exported, used - exported
