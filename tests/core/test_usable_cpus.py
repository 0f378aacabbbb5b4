"""``web_processes = 0`` sizes itself from the CPUs the process may really use."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from auditor.prefork import AUTO_MAX_PROCESSES, usable_cpus
from tests.core.test_web_processes import _free_port, children
from tests.hardening.daemon import start, wait_for, write_config


def affinity() -> int:
    return len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("max 100000\n", None),  # no quota: the affinity mask decides
        ("100000 100000\n", 1),  # docker --cpus 1
        ("150000 100000\n", 2),  # --cpus 1.5 rounds up: a second process still helps
        ("5000 100000\n", 1),  # a tiny quota still gets one process
        ("garbage\n", None),  # unreadable: ignored, not a crash at start-up
    ],
)
def test_a_cgroup_quota_lowers_the_count(
    tmp_path: Path, cpu_max: str, expected: int | None
) -> None:
    (tmp_path / "cpu.max").write_text(cpu_max)
    want = affinity() if expected is None else min(expected, affinity())
    assert usable_cpus(str(tmp_path)) == want


def test_without_a_cgroup_file_the_affinity_mask_decides(tmp_path: Path) -> None:
    assert usable_cpus(str(tmp_path / "missing")) == affinity()


def test_serve_forks_one_web_process_per_usable_cpu_by_default(tmp_path: Path) -> None:
    """The shipped shape (``auditor serve``, the Docker image's command) with no
    ``web_processes``: as many web processes as usable CPUs (so the dashboard and API do not
    share one core with the worker), every one answering on the one port."""
    port = _free_port()
    config = write_config(
        tmp_path / "config.toml",
        {"database_url": f"sqlite:///{tmp_path / 'auditor.db'}", "listen": f"127.0.0.1:{port}"},
        [],
    )
    proc = start("serve", config, log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: httpx.get(base + "/readyz").status_code == 200, 30)
        expected = min(AUTO_MAX_PROCESSES, usable_cpus())
        assert len(children(proc.pid)) == (expected if expected > 1 else 0)
        assert f'"processes": {expected}' in (tmp_path / "serve.log").read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
