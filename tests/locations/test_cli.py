"""``auditor worker --location/--source-address``: bad values are refused, naming the option."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worker(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "auditor", "worker", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=str(config.parent),
    )


def test_a_location_on_sqlite_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[auditor]\ndatabase_url = "sqlite:///{tmp_path}/a.db"\n')
    res = worker(config, "--location", "eu-west")
    assert res.returncode == 2
    assert "auditor.location (from --location): probing from several locations needs the " in (
        res.stderr
    )


def test_a_source_address_must_be_an_ip_address(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[auditor]\ndatabase_url = "sqlite:///{tmp_path}/a.db"\n')
    res = worker(config, "--source-address", "eu-west.example")
    assert res.returncode == 2
    assert "auditor.source_address (from --source-address): must be an IP address" in res.stderr
