"""Helpers for the first-hour tests: the real ``auditor`` command and a served daemon."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The test runner's environment without any ``AUDITOR_*`` that would steer the CLI."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    return {**base, **extra}


def cli(
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def served(
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    base_url: str,
    log: Path,
    *,
    verify: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``auditor ARGS`` until the block ends; wait for ``/healthz`` first (``verify``:
    check an HTTPS daemon's certificate)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "auditor", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"auditor exited {proc.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2, verify=verify).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"auditor never answered /healthz: {log.read_text()}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    """Fill in the login form as a browser would (its CSRF field and cookie included)."""
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return client.post(
        "/login",
        data={"csrf_token": match.group(1), "username": username, "password": password, "next": ""},
    )
