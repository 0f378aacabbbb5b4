"""``monitoring`` against a real Prometheus (Debian's) scraping a local target every second,
with a real alerting rule, and a real Alertmanager whose routing tree sends one job's alerts
to a webhook and another's to a receiver with no configs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from werkzeug.serving import make_server

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.monitoring import MonitoringCheck

IN_CI = os.environ.get("CI") == "true"
pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        if IN_CI:
            pytest.fail(f"{binary} is required in CI (.ci/run installs prometheus)")
        pytest.skip(f"{binary} is not installed")
    return path


def _wait(url: str, ok: Any, what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited: {log.read_text()[-2000:]}")
        try:
            if ok(httpx.get(url, timeout=2)):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{what} never got ready: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    prom_bin, am_bin = _need("prometheus"), _need("prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("monitoring")
    app = Flask("target")
    app.add_url_rule("/metrics", "m", lambda: ("demo_requests_total 1\n", 200,
                                               {"Content-Type": "text/plain; version=0.0.4"}))  # fmt: skip
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    target, closed = f"127.0.0.1:{srv.socket.getsockname()[1]}", f"127.0.0.1:{_port()}"
    (tmp / "rules.yml").write_text(
        "groups:\n- name: payments\n  rules:\n  - alert: PaymentsDown\n"
        '    expr: up{job="payments"} == 0\n    for: 1m\n'
    )
    (tmp / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [rules.yml]\n"
        f"scrape_configs:\n- job_name: payments\n  static_configs: [{{targets: ['{target}']}}]\n"
        f"- job_name: orders\n  static_configs: [{{targets: ['{closed}']}}]\n"
    )
    (tmp / "alertmanager.yml").write_text(
        "route:\n  receiver: blackhole\n  routes:\n  - receiver: ops\n"
        "    matchers: ['job=\"payments\"']\n"
        "receivers:\n- name: blackhole\n- name: ops\n"
        "  webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]\n"
    )
    prom_port, am_port = _port(), _port()
    logs = [tmp / "prometheus.log", tmp / "alertmanager.log"]
    procs = [
        subprocess.Popen([prom_bin, f"--config.file={tmp / 'prometheus.yml'}",
                          f"--storage.tsdb.path={tmp / 'data'}",
                          f"--web.listen-address=127.0.0.1:{prom_port}"],
                         stdout=logs[0].open("wb"), stderr=subprocess.STDOUT),
        subprocess.Popen([am_bin, f"--config.file={tmp / 'alertmanager.yml'}",
                          f"--storage.path={tmp / 'am'}", "--cluster.listen-address=",
                          f"--web.listen-address=127.0.0.1:{am_port}"],
                         stdout=logs[1].open("wb"), stderr=subprocess.STDOUT),
    ]  # fmt: skip
    prom, am = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}"
    try:
        up = prom + '/api/v1/query?query=count(up{job=~"payments|orders"})'
        _wait(up, lambda r: r.status_code == 200 and r.json()["data"]["result"]
              and r.json()["data"]["result"][0]["value"][1] == "2", "prometheus", procs[0], logs[0])  # fmt: skip
        time.sleep(2.5)  # a few scrapes, so the window holds more than one sample
        _wait(
            am + "/api/v2/status", lambda r: r.status_code == 200, "alertmanager", procs[1], logs[1]
        )
        yield {"prometheus": prom, "alertmanager": am}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
        srv.shutdown()


async def audit(service: str, **options: Any) -> RunResult:
    check = MonitoringCheck()
    opts = check.Options.model_validate({"window": "30s", **options})
    target = Target(service, "https://x.example", "monitoring", "monitoring")
    return await run_check(check, target, opts, prober=HttpProber(), timeout=10)


async def test_scraped_covered_and_routed(stack: dict[str, str]) -> None:
    r = await audit("payments", prometheus_url=stack["prometheus"],
                    alertmanager_url=stack["alertmanager"])  # fmt: skip
    assert r.status is RunStatus.PASS, r.summary
    assert r.facts["alert_rules"] == ["PaymentsDown"] and r.facts["route"]["receiver"] == "ops"


async def test_down_uncovered_and_blackholed(stack: dict[str, str]) -> None:
    r = await audit("orders", prometheus_url=stack["prometheus"],
                    alertmanager_url=stack["alertmanager"])  # fmt: skip
    assert r.status is RunStatus.FAIL
    assert {f.code for f in r.findings} == {"monitoring.down", "monitoring.no_alert_rule",
                                            "monitoring.no_route"}  # fmt: skip
    assert "'blackhole', which sends nowhere" in r.summary or any(
        "blackhole" in f.message for f in r.findings
    )


async def test_not_scraped_and_unreachable(stack: dict[str, str]) -> None:
    r = await audit("search", prometheus_url=stack["prometheus"], require_alert_rule=False)
    assert [f.code for f in r.findings] == ["monitoring.not_scraped"]
    gone = await audit("search", prometheus_url=f"http://127.0.0.1:{_port()}")
    assert gone.status is RunStatus.ERROR and gone.findings[0].code == "monitoring.unreachable"
