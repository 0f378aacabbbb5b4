"""``auditor web`` with several processes (``web_processes``): one listening socket, limits
and edits that hold across the processes, SIGTERM and crash handling — on the real daemon."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from auditor.config import load_config
from auditor.config.sync import sync_config
from auditor.process.web_server import AUTO_MAX_PROCESSES, usable_cpus
from auditor.store.accounts import create_token
from auditor.store.db import Database
from tests.hardening.daemon import start, wait_for, write_config
from tests.support import json_route, local_server

PROCESSES = 3


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def grandchildren(pid: int) -> list[int]:
    """``serve``'s web processes: gunicorn's workers, whose master runs beside the scheduler."""
    return [kid for child in children(pid) for kid in children(child)]


@dataclass
class Web:
    proc: subprocess.Popen[bytes]
    base: str
    viewer: str
    operator: str
    log: Path

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        """A fresh connection per request, so requests spread over the processes."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(self.base + path, headers=headers, timeout=10)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    db = tmp_path / "auditor.db"
    port = _free_port()
    config = write_config(
        tmp_path / "config.toml",
        {
            "database_url": f"sqlite:///{db}",
            "listen": f"127.0.0.1:{port}",
            "anonymous_read": True,
            "web_processes": PROCESSES,
            "log_level": "info",
        },
        [],
    )
    store = Database(f"sqlite:///{db}")
    sync_config(store, load_config(config, environ={}))
    viewer = create_token(store, name="v", role="viewer")[1]
    operator = create_token(store, name="o", role="operator")[1]
    store.close()
    log = tmp_path / "web.log"
    proc = start("web", config, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: httpx.get(base + "/healthz").status_code == 200, 30), (
            log.read_text()
        )
        assert wait_for(lambda: len(children(proc.pid)) == PROCESSES, 10)
        yield Web(proc, base, viewer, operator, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_several_processes_serve_one_port_and_stop_on_sigterm(web: Web) -> None:
    kids = children(web.proc.pid)
    assert len(kids) == PROCESSES
    codes = {web.get("/api/v1/services", web.viewer).status_code for _ in range(30)}
    assert codes == {200}
    web.proc.send_signal(signal.SIGTERM)
    assert web.proc.wait(15) == 0
    assert not [k for k in kids if Path(f"/proc/{k}").exists()]
    # one log format: gunicorn's own messages are JSON lines like ours
    lines = [json.loads(line) for line in web.log.read_text().splitlines() if line.strip()]
    assert any(
        x.get("logger") == "gunicorn.error" and "Booting worker" in x["event"] for x in lines
    )


def test_a_crashed_process_is_replaced(web: Web) -> None:
    victim = children(web.proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    assert wait_for(
        lambda: len(children(web.proc.pid)) == PROCESSES and victim not in children(web.proc.pid),
        10,
    )
    assert all(web.get("/healthz").status_code == 200 for _ in range(10))
    assert "web_process_exited" in web.log.read_text()


def test_the_api_rate_limit_is_one_budget_across_processes(web: Web) -> None:
    # 300 per minute per token (the default), refilled at 5/s: per-process buckets would
    # allow up to 3 x 300 at once
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        codes = list(
            pool.map(lambda _: web.get("/api/v1/services?limit=1", web.viewer).status_code,
                     range(600))
        )  # fmt: skip
    elapsed = time.monotonic() - started
    assert elapsed < 30
    assert set(codes) == {200, 429}
    assert 300 <= codes.count(200) <= 300 + 5 * elapsed + 2
    # the bucket refills at 5/s, so a single request right after the burst may find a fresh
    # token; a few more in a row must be refused, and no more pass than the refill allows
    after = time.monotonic()
    follow = [web.get("/api/v1/services?limit=1", web.viewer) for _ in range(10)]
    passed = sum(r.status_code == 200 for r in follow)
    assert passed <= 5 * (time.monotonic() - after) + 1
    refused = [r for r in follow if r.status_code == 429]
    assert refused and all(int(r.headers["Retry-After"]) >= 1 for r in refused)


def test_failed_logins_are_limited_across_processes(web: Web) -> None:
    def attempt() -> int:
        r = httpx.post(
            web.base + "/login",
            data={"csrf_token": "t", "username": "nobody", "password": "wrong-password!"},
            cookies={"auditor_login_csrf": "t"},
            timeout=10,
        )
        return r.status_code

    assert [attempt() for _ in range(5)] == [401] * 5
    assert {attempt() for _ in range(6)} == {429}


def test_an_edit_through_one_process_shows_in_every_process_at_once(web: Web) -> None:
    for _ in range(20):  # every process has rendered (and cached) the overview
        assert "payments-new" not in web.get("/").text
    r = httpx.post(
        web.base + "/api/v1/services",
        json={"name": "payments-new", "url": "https://payments.example.com"},
        headers={"Authorization": f"Bearer {web.operator}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    started = time.monotonic()
    pages = [web.get("/").text for _ in range(20)]
    assert time.monotonic() - started < 5  # well inside the read caches' 5 s lifetime
    assert all("payments-new" in page for page in pages)


@pytest.mark.parametrize("web_processes", [2, None], ids=["two", "default"])
def test_serve_with_several_web_processes_reports_its_scheduler_alive(
    tmp_path: Path, web_processes: int | None
) -> None:
    """``default``: the shipped shape (``auditor serve``, the Docker image's command) forks
    one web process per usable CPU, so the dashboard and API do not share the worker's core."""
    port = _free_port()
    config = write_config(
        tmp_path / "config.toml",
        {
            "database_url": f"sqlite:///{tmp_path / 'auditor.db'}",
            "listen": f"127.0.0.1:{port}",
            **({} if web_processes is None else {"web_processes": web_processes}),
        },
        [],
    )
    expected = web_processes or min(AUTO_MAX_PROCESSES, usable_cpus())
    proc = start("serve", config, log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        # /readyz in every web process sees the worker loop of the parent process
        assert wait_for(lambda: httpx.get(base + "/readyz").status_code == 200, 30)
        assert wait_for(
            lambda: len(grandchildren(proc.pid)) == (expected if expected > 1 else 0), 10
        )
        assert f'"processes": {expected}' in (tmp_path / "serve.log").read_text()
        time.sleep(2)
        assert {httpx.get(base + "/readyz").status_code for _ in range(20)} == {200}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_serve_with_several_web_processes_exposes_the_workers_live_histograms(
    tmp_path: Path,
) -> None:
    """The worker runs in the parent; every forked web process shows its lag and run
    durations as they grow (not the empty copy taken at the fork)."""
    port = _free_port()
    with local_server({"/health": json_route(200, {"status": "ok"})}) as target:
        config = write_config(
            tmp_path / "config.toml",
            {
                "database_url": f"sqlite:///{tmp_path / 'auditor.db'}",
                "listen": f"127.0.0.1:{port}",
                "web_processes": 2,
            },
            [
                {
                    "name": "svc",
                    "url": target,
                    "checks": [{"kind": "health", "interval": "5s", "timeout": "2s"}],
                }
            ],
        )
        proc = start("serve", config, log=tmp_path / "serve.log")
        base = f"http://127.0.0.1:{port}"
        count = re.compile(r'^auditor_run_duration_seconds_count\{kind="health"\} (\S+)$', re.M)
        lag = re.compile(r"^auditor_scheduler_lag_seconds_count (\S+)$", re.M)

        def runs_seen() -> list[float]:
            texts = [httpx.get(base + "/metrics").text for _ in range(8)]
            return [float(m.group(1)) if (m := count.search(t)) else 0.0 for t in texts]

        try:
            assert wait_for(lambda: min(runs_seen()) >= 2, 40), (tmp_path / "serve.log").read_text()
            text = httpx.get(base + "/metrics").text
            assert (m := lag.search(text)) is not None and float(m.group(1)) >= 2
            assert 'auditor_scheduler_lag_seconds_bucket{le="+Inf"}' in text
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def test_several_processes_serve_https_when_tls_cert_is_set(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(ca_file))
    port = _free_port()
    config = write_config(
        tmp_path / "config.toml",
        {
            "database_url": f"sqlite:///{tmp_path / 'auditor.db'}",
            "listen": f"127.0.0.1:{port}",
            "web_processes": 2,
            "tls_cert": str(cert),
            "tls_key": str(key),
        },
        [],
    )
    proc = start("web", config, log=tmp_path / "web.log")
    base = f"https://127.0.0.1:{port}"
    trust = ssl.create_default_context(cafile=str(ca_file))
    try:
        assert wait_for(
            lambda: httpx.get(base + "/healthz", verify=trust).status_code == 200, 30
        ), (tmp_path / "web.log").read_text()
        assert wait_for(lambda: len(children(proc.pid)) == 2, 10)
        codes = {httpx.get(base + "/healthz", verify=trust).status_code for _ in range(10)}
        assert codes == {200}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_web_processes_exit_when_the_parent_is_killed(web: Web) -> None:
    kids = children(web.proc.pid)
    web.proc.kill()
    web.proc.wait(10)
    assert wait_for(lambda: not [k for k in kids if Path(f"/proc/{k}/stat").exists()], 10)


def test_last_use_stamps_noted_just_before_sigterm_are_written(web: Web) -> None:
    """Stamps are flushed in the background every 2 s; a web process stopping sooner
    writes what it still holds on its way out (forked processes skip ``atexit``)."""
    from tests.hardening.daemon import sqlite_rows

    assert {web.get("/api/v1/services?limit=1", web.viewer).status_code for _ in range(6)} == {200}
    web.proc.send_signal(signal.SIGTERM)
    assert web.proc.wait(15) == 0
    stamps = dict(
        sqlite_rows(web.log.parent / "auditor.db", "SELECT name, last_used_at FROM api_token")
    )
    assert stamps["v"] is not None and stamps["o"] is None
