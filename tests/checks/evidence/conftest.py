"""Real reports, made once per session by the real producers: pytest (JUnit XML), Bandit
(SARIF), Locust (headless, CSV + JSON) and wrk, the last two against a local Flask app on
127.0.0.1 that answers ``/`` and fails ``/bad`` (so error rates are real)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

IN_CI = os.environ.get("CI") == "true"


def _need(tool: str, present: bool) -> None:
    if not present:
        if IN_CI:
            pytest.fail(f"{tool} is required in CI (pyproject test extras / .ci/run)")
        pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="session")
def junit_xml(reports: Path) -> bytes:
    """pytest's own --junitxml of a tiny suite: one pass, one failure."""
    (reports / "test_sample.py").write_text(
        "def test_up():\n    assert True\n\n\ndef test_down():\n    assert 1 == 2, 'down failed'\n"
    )
    out = reports / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
         "junit_suite_name=migrations", f"--junitxml={out}", "test_sample.py"],
        cwd=reports, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    return out.read_bytes()


@pytest.fixture(scope="session")
def junit_green(reports: Path) -> bytes:
    (reports / "green").mkdir()
    (reports / "green" / "test_ok.py").write_text("def test_up():\n    assert True\n")
    out = reports / "green.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
         "junit_suite_name=migrations", f"--junitxml={out}", "test_ok.py"],
        cwd=reports / "green", capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    return out.read_bytes()


@pytest.fixture(scope="session")
def bandit_sarif(reports: Path) -> bytes:
    """Bandit's SARIF of a sample package with a shell=True call and a hard-coded password."""
    _need(
        "bandit[sarif]", shutil.which("bandit", path=str(Path(sys.executable).parent)) is not None
    )
    pkg = reports / "sample_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "run.py").write_text(
        "import subprocess\n\n\ndef go(cmd):\n    return subprocess.call(cmd, shell=True)\n\n\n"
        "PASSWORD = 'hunter2'\n"
    )
    out = reports / "bandit.sarif"
    bandit = str(Path(sys.executable).parent / "bandit")
    subprocess.run([bandit, "-r", str(pkg), "-f", "sarif", "-o", str(out), "-q"],
                   capture_output=True, timeout=120, check=False)  # fmt: skip
    return out.read_bytes()


@pytest.fixture(scope="session")
def target_app() -> Iterator[str]:
    app = Flask("evidence-target")
    app.add_url_rule("/", "ok", lambda: "ok")
    app.add_url_rule("/bad", "bad", lambda: ("no", 500))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.socket.getsockname()[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def locust_run(reports: Path, target_app: str) -> dict[str, bytes]:
    """A 3-second headless Locust run (5 users, 1 in 10 requests to the failing /bad)."""
    # never import locust here: it monkey-patches the whole process with gevent
    _need("locust", importlib.util.find_spec("locust") is not None)
    (reports / "locustfile.py").write_text(
        "from locust import HttpUser, constant, task\n\n\nclass Visitor(HttpUser):\n"
        "    wait_time = constant(0.01)\n\n    @task(9)\n    def ok(self):\n"
        "        self.client.get('/')\n\n    @task(1)\n    def bad(self):\n"
        "        self.client.get('/bad')\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", "locustfile.py", "--headless", "-u", "5",
         "-r", "5", "-t", "3s", "--host", target_app, "--csv", "run", "--json",
         "--only-summary", "--loglevel", "WARNING"],
        cwd=reports, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    return {"csv": (reports / "run_stats.csv").read_bytes(), "json": done.stdout}


@pytest.fixture(scope="session")
def wrk_output(target_app: str) -> bytes:
    _need("wrk", shutil.which("wrk") is not None)
    done = subprocess.run(["wrk", "-t1", "-c2", "-d2s", "--latency", target_app + "/"],
                          capture_output=True, timeout=60, check=True)  # fmt: skip
    return done.stdout
