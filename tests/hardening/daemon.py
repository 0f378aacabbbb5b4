"""Helpers to run the real daemon as a subprocess against a generated config."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(
    path: Path,
    auditor: dict[str, Any],
    services: Iterable[dict[str, Any]],
    extra: str = "",
) -> Path:
    lines = ["[auditor]"] + [f"{k} = {toml_value(v)}" for k, v in auditor.items()]
    for svc in services:
        checks = svc.get("checks", [])
        lines += ["", "[[services]]"]
        lines += [f"{k} = {toml_value(v)}" for k, v in svc.items() if k != "checks"]
        for chk in checks:
            lines += ["[[services.checks]]"] + [f"{k} = {toml_value(v)}" for k, v in chk.items()]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def start(
    command: str, config: Path, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "auditor", command, "--config", str(config)],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        cwd=str(config.parent),
    )


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # not up yet / table not there yet
            pass
        time.sleep(interval)
    return False


def sqlite_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


RUNS_SQL = """
SELECT s.name, r.status, r.error_kind, r.duration_ms, r.started_at, r.due_at
FROM run r JOIN check_def c ON c.id = r.check_id JOIN service s ON s.id = c.service_id
"""


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if the daemon has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
