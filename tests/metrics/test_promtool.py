"""promtool: the exposition lints clean; the shipped rules load and their unit tests pass."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlmodel import col

from auditor.store.db import Database
from auditor.store.models import Service
from tests.metrics.conftest import make_app
from tests.metrics.support import require_tool

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "tests" / "alerts_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "auditor.json"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("promtool"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_metrics_is_clean_on_a_populated_instance(app: Flask) -> None:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert "auditor_check_success" in text
    res = promtool("check", "metrics", stdin=text)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == "" and res.stderr.strip() == "", res.stdout + res.stderr


def test_check_metrics_is_clean_with_odd_service_names(populated: Database) -> None:
    with populated.write() as s:
        s.execute(
            sa.update(Service)
            .where(col(Service.name) == "billing")
            .values(name='we"ird\\name\nwith ünïcode')
        )
    app, _ = make_app(populated)
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'service="we\\"ird\\\\name\\nwith ünïcode"' in text
    res = promtool("check", "metrics", stdin=text)
    assert res.returncode == 0, res.stdout + res.stderr


def test_alert_rules_load() -> None:
    res = promtool("check", "rules", str(ALERTS))
    assert res.returncode == 0, res.stdout + res.stderr


def test_alert_rule_unit_tests_pass() -> None:
    res = promtool("test", "rules", str(RULE_TESTS))
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_rule_has_annotations_and_a_unit_test() -> None:
    rules_text = ALERTS.read_text()
    alerts = re.findall(r"^\s*- alert: (\w+)$", rules_text, re.M)
    assert len(alerts) >= 12
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert set(alerts) <= tested
    for block in rules_text.split("- alert: ")[1:]:
        for key in ("summary:", "description:", "runbook_url:"):
            assert key in block, (block.splitlines()[0], key)


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:expr_{i}", "expr": e.replace("$service", ".*")}
                    for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    res = promtool("check", "rules", str(path))
    assert res.returncode == 0, res.stdout + res.stderr
