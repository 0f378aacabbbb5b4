"""A busy listen port is refused (issue #23): ``SO_REUSEPORT`` let a second, unrelated
``auditor serve`` or ``auditor demo`` join the first one's port and take half its requests.
Real ``auditor`` subprocesses against a real listener and a real first daemon."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hardening.daemon import stop, wait_for


def _env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    return {**base, **extra}


def _auditor(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def listener() -> Iterator[int]:
    """Some other program on a port, with ``SO_REUSEPORT`` set as gunicorn (or nginx with
    ``reuseport``) sets it: the case the kernel would otherwise let us share."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def _assert_refused(proc: subprocess.CompletedProcess[str], port: int) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"port {port} on 127.0.0.1 is already in use by another process" in proc.stderr
    for way in ("--listen", "AUDITOR_LISTEN", "[auditor]"):
        assert way in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("processes", ["1", "2"], ids=["waitress", "gunicorn"])
def test_serve_refuses_a_port_another_process_listens_on(
    tmp_path: Path, listener: int, processes: str
) -> None:
    env = _env(
        AUDITOR_DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}", AUDITOR_WEB_PROCESSES=processes
    )
    proc = _auditor(["serve", "--listen", f"127.0.0.1:{listener}"], tmp_path, env)
    _assert_refused(proc, listener)


@pytest.mark.slow
def test_demo_refuses_the_port_of_a_running_daemon(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    first_dir = tmp_path / "first"
    first_dir.mkdir()
    first = subprocess.Popen(
        [sys.executable, "-m", "auditor", "serve", "--listen", f"127.0.0.1:{port}"],
        cwd=first_dir,
        env=_env(AUDITOR_DATABASE_URL=f"sqlite:///{first_dir / 'a.db'}", AUDITOR_WEB_PROCESSES="2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:

        def up() -> bool:
            with urllib.request.urlopen(healthz, timeout=2) as r:
                return bool(r.status == 200)

        assert wait_for(up, 60), "the first daemon never answered"
        started = time.monotonic()
        second = _auditor(
            ["demo", "--data-dir", str(tmp_path / "demo")],
            tmp_path,
            _env(AUDITOR_LISTEN=f"127.0.0.1:{port}"),
        )
        _assert_refused(second, port)
        assert time.monotonic() - started < 60
        # the first daemon (both of its web processes) still answers every request
        for _ in range(20):
            with urllib.request.urlopen(healthz, timeout=5) as r:
                assert r.status == 200
    finally:
        stop(first)


def test_a_malformed_listen_option_is_named(tmp_path: Path) -> None:
    proc = _auditor(["serve", "--listen", "nonsense"], tmp_path, _env())
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert 'auditor.listen (from --listen): must be "host:port"' in proc.stderr
