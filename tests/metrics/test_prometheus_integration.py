"""A real Prometheus scrapes a real ``auditor serve`` and evaluates the shipped alert rules.

The auditor runs as a subprocess against a local target on 127.0.0.1 whose /health answers
500; Prometheus (Debian package) scrapes it every second with a bearer token, loads
``deploy/prometheus/alerts.yml`` (``for:`` shortened to 0s so the test need not wait 10
minutes) and must show ``auditor_check_success == 0`` for the check and a firing
``AuditorCheckFailing`` alert.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.metrics.support import require_tool

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
AUDITOR = Path(sys.executable).parent / "auditor"
TOKEN = "integration-metrics-token"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broken(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "down"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def broken_target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, proc_logs: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            got = probe()
        except Exception as exc:  # not up yet
            got, last = None, exc
        if got is not None:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r}){proc_logs}")


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def auditor(tmp_path: Path, broken_target: str) -> Iterator[str]:
    port = free_port()
    config = tmp_path / "auditor.toml"
    config.write_text(
        f"""
[auditor]
database_url = "sqlite:///{tmp_path}/auditor.db"
listen = "127.0.0.1:{port}"
concurrency = 4
metrics_token_env = "IT_METRICS_TOKEN"

[[services]]
name = "demo-broken"
url = "{broken_target}"

[[services.checks]]
kind = "health"
path = "/health"
interval = "5s"
timeout = "2s"
"""
    )
    log = (tmp_path / "auditor.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env["IT_METRICS_TOKEN"] = TOKEN
    proc = subprocess.Popen(
        [str(AUDITOR), "serve", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool | None:
            if proc.poll() is not None:
                raise AssertionError((tmp_path / "auditor.log").read_text())
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as resp:
                return True if resp.status == 200 else None

        wait_for("auditor /healthz", healthy, 30)
        yield base
    finally:
        stop(proc)
        log.close()


@pytest.fixture
def prometheus(tmp_path: Path, auditor: str) -> Iterator[str]:
    binary = require_tool("prometheus")
    rules = tmp_path / "alerts.yml"
    rules.write_text(re.sub(r"(?m)^(\s+)for: \d+[smh]$", r"\1for: 0s", ALERTS.read_text()))
    token_file = tmp_path / "metrics.token"
    token_file.write_text(TOKEN)
    port = free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "auditor",
                "authorization": {"credentials_file": str(token_file)},
                "static_configs": [{"targets": [auditor.removeprefix("http://")]}],
            }
        ],
    }
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(json.dumps(config))  # JSON is YAML
    data = tmp_path / "tsdb"
    log = (tmp_path / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={cfg}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool | None:
            if proc.poll() is not None:
                raise AssertionError((tmp_path / "prometheus.log").read_text())
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as resp:
                return True if resp.status == 200 else None

        wait_for("prometheus /-/ready", ready, 30)
        yield base
    finally:
        stop(proc)
        log.close()


def test_prometheus_scrapes_the_auditor_and_fires_a_shipped_alert(
    prometheus: str, auditor: str
) -> None:
    # the endpoint is protected: Prometheus gets in with its credentials file, we do not
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{auditor}/metrics", timeout=5)
    assert refused.value.code == 401

    def query(expr: str) -> list[dict[str, Any]]:
        q = urllib.parse.urlencode({"query": expr})
        body = get_json(f"{prometheus}/api/v1/query?{q}")
        assert body["status"] == "success"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scraped() -> bool | None:
        up = query('up{job="auditor"}')
        return True if up and up[0]["value"][1] == "1" else None

    wait_for("a successful scrape", scraped, 30)

    def failing_check() -> dict[str, Any] | None:
        rows = query('auditor_check_success{service="demo-broken", check="health"}')
        return rows[0] if rows and rows[0]["value"][1] == "0" else None

    row = wait_for("auditor_check_success == 0 for the failing check", failing_check, 40)
    assert row["metric"]["kind"] == "health"
    fail_state = query('auditor_check_status{service="demo-broken", status="fail"}')
    assert fail_state and fail_state[0]["value"][1] == "1"
    runs = query('auditor_runs_total{kind="health", status="fail"}')
    assert runs and float(runs[0]["value"][1]) >= 1

    def firing() -> dict[str, Any] | None:
        alerts = get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
        for alert in alerts:
            labels = alert["labels"]
            if (
                labels.get("alertname") == "AuditorCheckFailing"
                and labels.get("service") == "demo-broken"
                and alert["state"] == "firing"
            ):
                return dict(alert)
        return None

    alert = wait_for("AuditorCheckFailing to fire", firing, 30)
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["runbook_url"].endswith("#auditorcheckfailing")
    assert "demo-broken" in alert["annotations"]["summary"]

    # the rule for the auditor's own liveness stays quiet
    # (with every `for:` at 0s, absent(up) can fire at the very first evaluation, before the
    # first scrape: it must resolve once the target is scraped)
    def quiet() -> bool | None:
        alerts = get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
        liveness = ("AuditorDown", "AuditorNotScraped")
        return not [a for a in alerts if a["labels"]["alertname"] in liveness] or None

    assert wait_for("the auditor's liveness alerts to be quiet", quiet, 15)
