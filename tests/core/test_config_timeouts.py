"""A check's timeout defaults like Prometheus's ``scrape_timeout``: ``min(default_timeout,
interval)``; only a timeout written on the check can exceed its interval, and that stays an
error. Driven through ``auditor config check``, as an operator meets it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auditor.config import parse_config

SERVICE = '[[services]]\nname = "api"\nurl = "https://x"\n[[services.checks]]\nkind = "health"\n'


def config_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "auditor", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_no_timeout_on_a_short_interval_is_valid(tmp_path: Path) -> None:
    proc = config_check(tmp_path, SERVICE + 'interval = "5s"\n')
    assert proc.returncode == 0, proc.stderr
    assert "1 services, 1 checks" in proc.stdout


def test_short_default_interval_caps_the_default_timeout(tmp_path: Path) -> None:
    text = '[auditor]\ndefault_interval = "3s"\ndefault_timeout = "10s"\n' + SERVICE
    proc = config_check(tmp_path, text)
    assert proc.returncode == 0, proc.stderr


def test_explicit_timeout_above_the_interval_stays_an_error(tmp_path: Path) -> None:
    proc = config_check(tmp_path, SERVICE + 'interval = "5s"\ntimeout = "30s"\n')
    assert proc.returncode == 2
    assert "services[0].checks[0].timeout: must not exceed the interval (5s)" in proc.stderr


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ({"interval": "5s"}, 5.0),  # min(10s default, 5s)
        ({"interval": "1m"}, 10.0),  # the default when the interval is longer
        ({"interval": "5s", "timeout": "2s"}, 2.0),  # an explicit timeout is kept
        ({"interval": "5s", "timeout": "5s"}, 5.0),  # equal to the interval is allowed
    ],
)
def test_effective_timeout(check: dict[str, str], expected: float) -> None:
    data = {
        "services": [{"name": "a", "url": "https://x", "checks": [{"kind": "health", **check}]}]
    }
    config = parse_config(data, environ={})
    assert config.services[0].checks[0].timeout == expected
