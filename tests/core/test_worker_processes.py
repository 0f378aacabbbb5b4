"""``worker_processes``: several probe processes split the due checks through the database,
with no run duplicated or missed, on SQLite and PostgreSQL (issue #19, "use every core")."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlmodel import select

from auditor.process.probe_processes import worker_process_count
from auditor.process.web_server import usable_cpus
from auditor.store.db import Database
from auditor.store.models import Run
from tests.support import json_route, local_server

CHECKS = 30
INTERVAL_S = 2


def _config(tmp_path: Path, db_url: str, base: str, processes: int | str) -> Path:
    lines = [
        "[auditor]",
        f'database_url = "{db_url}"',
        'listen = "127.0.0.1:0"',
        'probe_engine = "curl"',
        f"worker_processes = {processes if isinstance(processes, int) else repr(processes)}",
        "concurrency = 20",
    ]
    for i in range(CHECKS):
        lines += [
            "[[services]]",
            f'name = "svc{i}"',
            f'url = "{base}"',
            "[[services.checks]]",
            'kind = "health"',
            'path = "/ok"',
            f'interval = "{INTERVAL_S}s"',
            'timeout = "1.9s"',
        ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_worker_processes_split_the_checks_with_no_run_twice_or_missed(
    db_url: str, tmp_path: Path
) -> None:
    with local_server({"/ok": json_route(200, {"status": "pass"})}) as base:
        config = _config(tmp_path, db_url, base, 3)
        proc = subprocess.Popen(
            [sys.executable, "-m", "auditor", "worker", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        try:
            deadline = time.monotonic() + 30
            while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            children = _children(proc.pid)
            assert len(children) == 2, "the worker did not fork two more probe processes"
            time.sleep(5 * INTERVAL_S + 2)
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=40)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, out[-3000:]
    for child in children:  # every probe process drained and exited with the parent
        assert (
            not Path(f"/proc/{child}").exists()
            or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
        )
    store = Database(db_url, migrate=False)
    try:
        with store.read() as s:
            runs = list(s.exec(select(Run)).all())
    finally:
        store.close()
    per_due = Counter((r.check_id, r.due_at) for r in runs)
    assert runs and max(per_due.values()) == 1  # no due time ran twice
    pids = Counter((r.worker or "").split(":")[1] for r in runs)
    assert len(pids) == 3, pids  # three processes each took a share
    assert min(pids.values()) >= len(runs) // 10, pids
    bad = Counter(r.summary for r in runs if r.status != "pass")
    assert not bad, bad
    dues: dict[str, list[float]] = defaultdict(list)
    for r in runs:
        dues[r.check_id].append(r.due_at.timestamp())
    assert len(dues) == CHECKS
    for check_id, times in dues.items():
        times.sort()
        assert len(times) >= 4, (check_id, times)
        gaps = [round(b - a, 2) for a, b in itertools.pairwise(times)]
        # every slot ran: after the first run (its due time is the check's initial phase) the
        # cadence is the interval; a missed slot would leave a gap of two
        assert gaps[0] < 2 * INTERVAL_S, (check_id, gaps)
        assert all(INTERVAL_S <= g < 2 * INTERVAL_S for g in gaps[1:]), (check_id, gaps)


def test_auto_means_one_probe_process_per_usable_cpu() -> None:
    assert worker_process_count("auto") == usable_cpus()
    assert worker_process_count(0) == usable_cpus()
    assert worker_process_count(3) == 3


@pytest.mark.parametrize("bad", ["many", 65, -1])
def test_a_bad_worker_processes_names_the_key(tmp_path: Path, bad: object) -> None:
    from auditor.config import ConfigError, load_config

    path = tmp_path / "c.toml"
    value = repr(bad) if isinstance(bad, str) else bad
    path.write_text(f"[auditor]\nworker_processes = {value}\n".replace("'", '"'))
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert "worker_processes" in str(err.value)
