"""The real daemon (``auditor worker`` in a subprocess) discovers at start and keeps following
the files: added, changed, archived — read back from its store while it runs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _wait(what: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(0.2)
    raise AssertionError("the daemon did not get there in time")


def test_the_worker_discovers_at_start_and_follows_changes(tmp_path: Path) -> None:
    targets = tmp_path / "targets"
    targets.mkdir()
    web = targets / "web.json"
    web.write_text(json.dumps([{"targets": ["10.9.0.1:80"], "labels": {"job": "web-api"}}]))
    db = tmp_path / "auditor.db"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[auditor]\ndatabase_url = "sqlite:///{db}"\n\n'
        f'[[discovery]]\ntype = "file_sd"\npath = "{targets}/*.json"\nrefresh = "1s"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "worker", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def rows() -> dict[str, tuple[str, str | None]]:
        """name -> (url, deleted_at), read with plain sqlite3 beside the running daemon."""
        if not db.exists():
            return {}
        with sqlite3.connect(db, timeout=5) as conn:
            try:
                found = conn.execute("SELECT name, url, deleted_at FROM service").fetchall()
            except sqlite3.OperationalError:  # not migrated yet
                return {}
        return {name: (url, deleted) for name, url, deleted in found}

    try:
        _wait(lambda: "web-api" in rows())  # at start
        web.write_text(json.dumps([{"targets": ["10.9.0.2:80"], "labels": {"job": "jobs-api"}}]))
        _wait(lambda: "jobs-api" in rows() and rows()["web-api"][1] is not None)
        assert rows()["jobs-api"][0] == "http://10.9.0.2:80"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out[-3000:]
    assert "discovered_service_added" in out and "discovered_service_archived" in out


def test_audit_reads_the_sources_once_and_archives_nothing(tmp_path: Path) -> None:
    from tests.support import json_route, local_server

    with local_server({"/health": json_route(200, {"status": "pass"})}) as base:
        targets = tmp_path / "web.json"
        target = base.removeprefix("http://")
        targets.write_text(json.dumps([{"targets": [target], "labels": {"job": "web-api"}}]))
        db = tmp_path / "auditor.db"
        config = tmp_path / "config.toml"
        head = f'[auditor]\ndatabase_url = "sqlite:///{db}"\n'
        source = (
            f'\n[[discovery]]\ntype = "file_sd"\npath = "{targets}"\n\n'
            '[[discovery.checks]]\nkind = "health"\npath = "/health"\n'
        )
        config.write_text(head + source)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
        env["PYTHONPATH"] = str(ROOT)
        cmd = [sys.executable, "-m", "auditor", "audit", "--config", str(config)]
        proc = subprocess.run(
            [*cmd, "--service", "web-api", "--format", "json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        results = json.loads(proc.stdout)["results"]
        assert [(r["service"], r["check"], r["status"]) for r in results] == [
            ("web-api", "health", "pass")
        ]
        # a cut-down file without the source: the discovered service is not archived
        config.write_text(head)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        with sqlite3.connect(db) as conn:
            deleted = conn.execute(
                "SELECT deleted_at FROM service WHERE name = 'web-api'"
            ).fetchone()
        assert deleted == (None,)
        # and an unknown name is still a usage error
        config.write_text(head + source)
        proc = subprocess.run(
            [*cmd, "--service", "nope"], env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 2 and "unknown service(s): nope" in proc.stderr
