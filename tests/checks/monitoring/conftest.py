"""A real Prometheus (Debian ``prometheus``) and a real Alertmanager (Debian
``prometheus-alertmanager``) on free 127.0.0.1 ports, scraping tiny local targets.

Prometheus scrapes every second: ``payments`` (a target whose /metrics has RED series),
``ledger`` (a closed port: every scrape fails) and itself; one rule file holds an alert for
``payments`` only. Alertmanager routes ``job="payments"`` to a receiver with a webhook
integration and everything else to a ``null`` receiver. Started once per module; the
processes are stopped by their own handles.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from tests.metrics.support import IN_CI
from tests.metrics.test_prometheus_integration import free_port, get_json, stop, wait_for

#: bcrypt of "prom-secret-pw-42" for user "auditor" (made with htpasswd -nbBC 10)
BASIC_USER = "auditor"
BASIC_PASSWORD = "prom-secret-pw-42"
BASIC_HASH = "$2y$10$IVYN6.HTGlz1DcEBS28xHO2Ak7VN1MCaS4sTvJiQrCOD0Nz6R12IK"

RED_METRICS = """\
# HELP http_requests_total Requests handled.
# TYPE http_requests_total counter
http_requests_total{method="GET",status="200"} 1027
http_requests_total{method="GET",status="500"} 3
# HELP http_request_duration_seconds Request latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 1000
http_request_duration_seconds_bucket{le="+Inf"} 1030
http_request_duration_seconds_sum 42.5
http_request_duration_seconds_count 1030
"""
BARE_METRICS = """\
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
"""

RULES = """\
groups:
  - name: payments
    rules:
      - alert: PaymentsDown
        expr: up{job="payments"} == 0
        for: 1m
        labels:
          severity: critical
        annotations:
          summary: payments is down
      - alert: AuditorSelfDown
        expr: up{job="prometheus"} == 0
        labels:
          severity: warning
"""

ALERTMANAGER = """\
route:
  receiver: "null"
  group_by: [alertname]
  routes:
    - matchers: ['job="payments"', 'severity=~"critical|warning"']
      receiver: team-payments
receivers:
  - name: "null"
  - name: team-payments
    webhook_configs:
      - url: http://127.0.0.1:9/hook
"""


def require_binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    if IN_CI:
        pytest.fail(f"{name} is required in CI (Debian package '{package}') but is missing")
    pytest.skip(f"{name} not installed (apt-get install {package})")


def _handler(body: str) -> type[BaseHTTPRequestHandler]:
    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body.encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: Any) -> None:
            pass

    return Metrics


@pytest.fixture(scope="module")
def metrics_target() -> Callable[[str], str]:
    """Start a /metrics server with the given body; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(body: str) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(body))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()


def _process(
    argv: list[str], cwd: Path, log_name: str, ready_url: str, headers: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = (cwd / log_name).open("wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    log.close()

    def ready() -> bool | None:
        if proc.poll() is not None:
            raise AssertionError((cwd / log_name).read_text())
        req = urllib.request.Request(ready_url, headers=headers or {})
        with urllib.request.urlopen(req, timeout=2) as resp:
            return True if resp.status == 200 else None

    try:
        wait_for(log_name, ready, 30)
    except BaseException:
        stop(proc)
        raise
    return proc


@dataclass
class Stack:
    prometheus: str
    alertmanager: str
    payments: str
    bare: str


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_binary("prometheus-alertmanager", "prometheus-alertmanager")
    work = tmp_path_factory.mktemp("alertmanager")
    (work / "alertmanager.yml").write_text(ALERTMANAGER)
    port, cluster = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _process(
        [binary, f"--config.file={work / 'alertmanager.yml'}", f"--storage.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}",
         f"--cluster.listen-address=127.0.0.1:{cluster}", "--log.level=warn"],
        work, "alertmanager.log", f"{base}/-/ready",
    )  # fmt: skip
    yield base
    stop(proc)


def start_prometheus(
    work: Path, scrape: dict[str, str], alertmanager: str | None, web_config: str | None = None
) -> subprocess.Popen[bytes] | None:
    """Start Prometheus; returns the process (its URL is written to ``work/url``)."""
    binary = require_binary("prometheus", "prometheus")
    (work / "rules.yml").write_text(RULES)
    port = free_port()
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(work / "rules.yml")],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [url.removeprefix("http://")]}]}
            for job, url in scrape.items()
        ],
    }
    if alertmanager:
        config["alerting"] = {
            "alertmanagers": [
                {"static_configs": [{"targets": [alertmanager.removeprefix("http://")]}]}
            ]
        }
    (work / "prometheus.yml").write_text(json.dumps(config))
    argv = [binary, f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn"]  # fmt: skip
    headers = None
    if web_config:
        (work / "web.yml").write_text(web_config)
        argv.append(f"--web.config.file={work / 'web.yml'}")
        pair = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
        headers = {"Authorization": f"Basic {pair}"}
    base = f"http://127.0.0.1:{port}"
    proc = _process(argv, work, "prometheus.log", f"{base}/-/ready", headers)
    (work / "url").write_text(base)
    (work / "auth").write_text(json.dumps(headers or {}))
    return proc


def wait_scraped(base: str, jobs: list[str], headers: dict[str, str] | None = None) -> None:
    """Until every job has an ``up`` sample and Prometheus found its Alertmanager."""

    def seen() -> bool | None:
        for job in jobs:
            got = get_json(f"{base}/api/v1/query?query=up%7Bjob%3D%22{job}%22%7D", headers)
            if not got["data"]["result"]:
                return None
        return True

    wait_for("first scrapes", seen, 30)


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    alertmanager: str,
    metrics_target: Callable[[str], str],
) -> Iterator[Stack]:
    payments = metrics_target(RED_METRICS)
    bare = metrics_target(BARE_METRICS)
    work = tmp_path_factory.mktemp("prometheus")
    closed = f"http://127.0.0.1:{free_port()}"
    proc = start_prometheus(
        work, {"payments": payments, "ledger": closed, "bare": bare}, alertmanager
    )
    base = (work / "url").read_text()
    try:
        wait_scraped(base, ["payments", "ledger", "bare"])

        def found_alertmanager() -> bool | None:
            got = get_json(f"{base}/api/v1/alertmanagers")
            return True if got["data"]["activeAlertmanagers"] else None

        wait_for("alertmanager discovery", found_alertmanager, 30)
        yield Stack(base, alertmanager, payments, bare)
    finally:
        if proc is not None:
            stop(proc)


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.aclose()
