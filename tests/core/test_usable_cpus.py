"""``web_processes = 0`` sizes itself from the CPUs the process may really use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.process.web_server import usable_cpus


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
