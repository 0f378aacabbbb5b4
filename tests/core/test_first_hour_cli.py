"""The first hour (issue #23): the CLI never reports success on a file that is not there, and
the demo names the address it really listens on. Real ``auditor`` subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

MESSAGE = "no config file at {}; pass --config or create one (see config.example.toml)"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "AUDITOR_CONFIG"}


@pytest.mark.parametrize(
    ("args", "code"),
    [(["config", "check"], 2), (["audit"], 2), (["gate", "payments-api"], 64)],
    ids=["config-check", "audit", "gate"],
)
def test_a_missing_config_file_is_not_success(tmp_path: Path, args: list[str], code: int) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert MESSAGE.format(tmp_path / "config.toml") in proc.stderr
    assert "0 checks" not in proc.stdout


def test_an_existing_default_file_is_still_used(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[auditor]\nlisten = "127.0.0.1:8080"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "config", "check"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: ")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_demo_banner_names_the_address_it_listens_on(tmp_path: Path) -> None:
    port = _free_port()
    env = {**_env(), "AUDITOR_LISTEN": f"127.0.0.1:{port}", "AUDITOR_WEB_PROCESSES": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "demo", "--data-dir", str(tmp_path / "demo")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = None
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline and banner is None:
            line = proc.stdout.readline()
            if not line:
                break
            if "demo_ready" in line:
                banner = json.loads(line)
        assert banner is not None, "the demo printed no banner"
        assert banner["dashboard"] == f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{banner['dashboard']}healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("nothing answers at the address the banner names")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
