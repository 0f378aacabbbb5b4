"""Workers sharing checks through the database: no duplicates, takeover, draining on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.probe.http import HttpProber
from auditor.schedule.worker import Worker
from auditor.store.db import Database
from auditor.store.models import Check, Run, utcnow
from tests.support import json_route, local_server


def _services(base: str, n: int, interval: str = "2s", path: str = "/ok") -> dict:
    return {
        "services": [
            {
                "name": f"svc{i}",
                "url": base,
                "checks": [{"kind": "health", "path": path, "interval": interval, "timeout": "1s"}],
            }
            for i in range(n)
        ]
    }


async def _run_workers(workers: list[Worker], seconds: float) -> None:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)


def _runs(store: Database) -> list[Run]:
    with store.read() as s:
        return list(s.exec(select(Run)).all())


async def test_two_workers_on_postgres_never_run_a_due_time_twice(pg_url: str) -> None:
    with local_server({"/ok": json_route(200, {"status": "pass"}, delay=0.05)}) as base:
        config = parse_config(_services(base, 30), environ={})
        stores = [Database(pg_url), Database(pg_url, migrate=False)]
        sync_config(stores[0], config)
        workers = [
            Worker(st, prober=HttpProber(), concurrency=10, worker_id=f"w{i}", poll_interval=0.1)
            for i, st in enumerate(stores)
        ]
        await _run_workers(workers, 5.0)
    runs = _runs(stores[0])
    per_due = Counter((r.check_id, r.due_at) for r in runs)
    assert runs and max(per_due.values()) == 1
    by_worker = Counter(r.worker for r in runs)
    assert set(by_worker) == {"w0", "w1"}, by_worker  # both took a share
    per_check = Counter(r.check_id for r in runs)
    assert len(per_check) == 30 and min(per_check.values()) >= 2  # every check kept its 2 s cadence
    for st in stores:
        st.close()


def _auditor(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "auditor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _write_config(tmp_path: Path, url: str, body: dict) -> Path:
    lines = ["[auditor]", f'database_url = "{url}"', 'lease = "3s"', 'listen = "127.0.0.1:0"']
    for svc in body["services"]:
        lines += ["[[services]]", f'name = "{svc["name"]}"', f'url = "{svc["url"]}"']
        for chk in svc["checks"]:
            lines += ["[[services.checks]]"] + [f'{k} = "{v}"' for k, v in chk.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _wait_for(predicate, timeout: float, interval: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_a_killed_workers_checks_are_taken_over(pg_url: str, tmp_path: Path) -> None:
    with local_server({"/slow": json_route(200, {"status": "pass"}, delay=0.8)}) as base:
        config = _write_config(tmp_path, pg_url, _services(base, 6, interval="2s", path="/slow"))
        store = Database(pg_url)
        sync_config(
            store, parse_config(_services(base, 6, interval="2s", path="/slow"), environ={})
        )
        victim = _auditor("worker", "--config", str(config))
        try:
            # wait until the victim holds leases, then kill it without a chance to clean up
            def leased() -> bool:
                with store.read() as s:
                    return any(c.lease_owner for c in s.exec(select(Check)).all())

            assert _wait_for(leased, 20), "the worker never claimed anything"
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            with store.read() as s:
                orphaned = {c.id for c in s.exec(select(Check)).all() if c.lease_owner}
            killed_at = time.monotonic()
            survivor = _auditor("worker", "--config", str(config))
            try:

                def taken_over() -> bool:
                    with store.read() as s:
                        runs = s.exec(select(Run).where(Run.worker.like("%:worker:%"))).all()  # type: ignore[union-attr]
                    survivors = {
                        r.check_id
                        for r in runs
                        if r.started_at.timestamp() > time.time() - (time.monotonic() - killed_at)
                    }
                    return orphaned <= survivors

                # lease is max(3 s, timeout + 10 s) = 11 s: takeover happens within one lease period
                assert _wait_for(taken_over, 11 + 8, 0.5), "orphaned checks were not taken over"
            finally:
                survivor.terminate()
                survivor.wait(20)
        finally:
            if victim.poll() is None:
                victim.kill()
    runs = _runs(store)
    assert max(Counter((r.check_id, r.due_at) for r in runs).values()) == 1
    store.close()


def test_sigterm_finishes_in_flight_checks_and_stores_them(sqlite_url: str, tmp_path: Path) -> None:
    with local_server({"/slow": json_route(200, {"status": "pass"}, delay=2.0)}) as base:
        body = _services(base, 3, interval="1m", path="/slow")
        body["services"][0]["checks"][0]["timeout"] = "5s"
        body["services"][1]["checks"][0]["timeout"] = "5s"
        body["services"][2]["checks"][0]["timeout"] = "5s"
        config = _write_config(tmp_path, sqlite_url, body)
        proc = _auditor("serve", "--config", str(config))
        store = Database(sqlite_url, migrate=False) if Path(sqlite_url[10:]).exists() else None
        try:

            def inflight() -> bool:
                nonlocal store
                if store is None:
                    if not Path(sqlite_url[len("sqlite:///") :]).exists():
                        return False
                    store = Database(sqlite_url, migrate=False)
                try:
                    with store.read() as s:
                        return any(c.lease_owner for c in s.exec(select(Check)).all())
                except Exception:
                    return False

            assert _wait_for(inflight, 20), "checks never started"
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, out
        assert store is not None
        runs = _runs(store)
        assert len(runs) == 3 and all(r.status == "pass" for r in runs), out
        with store.read() as s:
            assert not any(c.lease_owner for c in s.exec(select(Check)).all())


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_audit_prints_the_contract_and_exits_by_result(tmp_path: Path, fmt: str) -> None:
    import json

    with local_server(
        {"/ok": json_route(200, {"status": "pass"}), "/down": json_route(503, {"status": "fail"})}
    ) as base:
        body = {
            "services": [
                {"name": "good", "url": base, "checks": [{"kind": "health", "path": "/ok"}]},
                {"name": "bad", "url": base, "checks": [{"kind": "health", "path": "/down"}]},
            ]
        }
        config = _write_config(tmp_path, f"sqlite:///{tmp_path}/a.db", body)
        ok = subprocess.run(
            [
                sys.executable,
                "-m",
                "auditor",
                "audit",
                "--config",
                str(config),
                "--service",
                "good",
                "--format",
                fmt,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert ok.returncode == 0, ok.stderr
        both = subprocess.run(
            [sys.executable, "-m", "auditor", "audit", "--config", str(config), "--format", fmt],
            capture_output=True,
            text=True,
            check=False,
        )
        assert both.returncode == 1
        usage = subprocess.run(
            [
                sys.executable,
                "-m",
                "auditor",
                "audit",
                "--config",
                str(config),
                "--service",
                "nope",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert usage.returncode == 2 and "unknown service" in usage.stderr
    if fmt == "json":
        doc = json.loads(both.stdout)
        assert doc["summary"] == {"pass": 1, "warn": 0, "fail": 1, "error": 0}
        keys = {
            "service",
            "check",
            "kind",
            "status",
            "summary",
            "findings",
            "facts",
            "duration_ms",
            "started_at",
            "error",
        }
        assert all(set(r) == keys for r in doc["results"])
        bad = next(r for r in doc["results"] if r["service"] == "bad")
        assert bad["check"] == "health" and bad["status"] == "fail"
        assert bad["findings"][0]["code"] == "health.status"
        assert set(bad["findings"][0]) == {"code", "severity", "message"}
    else:
        assert "FAIL  bad/health" in both.stdout and "1 pass" in both.stdout
    store = Database(f"sqlite:///{tmp_path}/a.db", migrate=False)
    assert len(_runs(store)) == 3  # every audited result is stored


async def test_checks_start_on_their_due_time_not_at_the_next_poll(sqlite_url: str) -> None:
    with local_server({"/ok": json_route(200, {"status": "pass"})}) as base:
        store = Database(sqlite_url)
        sync_config(store, parse_config(_services(base, 20, interval="2s"), environ={}))
        # polls 0.5-1.5 s apart: a worker that ran what was due at each poll would lag ~0.5 s
        worker = Worker(
            store, prober=HttpProber(), concurrency=10, worker_id="w", poll_interval=1.0
        )
        started = utcnow()
        await _run_workers([worker], 7.0)
    later = [r for r in _runs(store) if r.due_at > started]
    lags = sorted((r.started_at - r.due_at).total_seconds() for r in later)
    assert len(lags) >= 20 * 2
    assert lags[0] >= 0, "a check started before it was due"
    assert lags[len(lags) // 2] < 0.15, lags  # median: robust on a busy CI machine


async def test_stopping_gives_back_claims_that_have_not_started(sqlite_url: str) -> None:
    with local_server({"/ok": json_route(200, {"status": "pass"})}) as base:
        store = Database(sqlite_url)
        sync_config(store, parse_config(_services(base, 5, interval="1m"), environ={}))
        soon = utcnow() + timedelta(seconds=1.5)
        with store.write() as s:
            for chk in s.exec(select(Check)).all():
                chk.next_run_at = soon
                s.add(chk)
        worker = Worker(store, prober=HttpProber(), concurrency=10, worker_id="w")
        await _run_workers([worker], 0.6)  # claimed ahead, stopped before they were due
    assert _runs(store) == []
    with store.read() as s:
        checks = s.exec(select(Check)).all()
    assert all(c.lease_owner is None and c.lease_until is None for c in checks)
    assert all(c.next_run_at == soon for c in checks)  # still due: the next worker runs them
