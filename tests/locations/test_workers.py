"""Three real worker processes in locations a, b, c (bound to 127.0.0.2/3/4) against a target
that fails for some source addresses only: the alert fires only once quorum is reached."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from auditor.config import load_config
from auditor.config.sync import sync_config
from auditor.store.db import Database
from tests.alerting.helpers import Recorder, free_port, http_receiver
from tests.hardening.daemon import stop, wait_for

pytestmark = pytest.mark.slow

ADDRESSES = {"a": "127.0.0.2", "b": "127.0.0.3", "c": "127.0.0.4"}


@contextmanager
def picky_target(failing: set[str]) -> Iterator[int]:
    """A health endpoint answering 500 to the client addresses in ``failing`` (read live)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            bad = self.client_address[0] in failing
            body = json.dumps({"status": "fail" if bad else "ok"}).encode()
            self.send_response(500 if bad else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def rows(engine: sa.Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql)).all())


def test_quorum_two_of_three_alerts_only_when_two_locations_fail(
    pg_url: str, tmp_path: Path
) -> None:
    failing = {ADDRESSES["c"]}
    hook_port = free_port()
    recorder = Recorder()
    with picky_target(failing) as port, http_receiver(hook_port, recorder):
        config = tmp_path / "config.toml"
        text = f"""
[auditor]
database_url = "{pg_url}"
locations = ["a", "b", "c"]
lease = "5s"

[[services]]
name = "shop"
url = "http://127.0.0.1:{port}"

[[services.checks]]
kind = "health"
interval = "2s"
timeout = "2s"
failure_threshold = 1
enabled = false
locations = "all"
quorum = 2

[[alerting.receivers]]
name = "ops"
type = "webhook"
unsigned = true
url = "http://127.0.0.1:{hook_port}/hook"
"""
        config.write_text(text)
        log = tmp_path / "workers.log"
        procs: list[Any] = []
        engine = sa.create_engine(pg_url)
        try:
            # start the workers one after another, each seen live before the next (starting
            # together is tests/core/test_schema.py's subject); the check is disabled until
            # all three locations are live, so no location is reported missing while its
            # worker is still starting
            Database(pg_url).upgrade()
            for n, (location, address) in enumerate(ADDRESSES.items(), start=1):
                procs.append(start_located(config, location, address, log))
                assert wait_for(
                    lambda n=n: len(rows(engine, "SELECT id FROM node")) >= n, 30, 0.2
                ), log.read_text()[-3000:]
            # every location is up: now the check starts (as when an operator enables it)
            config.write_text(text.replace("enabled = false\n", ""))
            with contextlib.closing(Database(pg_url)) as store:
                sync_config(store, load_config(config))

            def runs_by_location() -> dict[str, set[str]]:
                out: dict[str, set[str]] = {}
                for loc, status in rows(engine, "SELECT location, status FROM run"):
                    out.setdefault(loc, set()).add(status)
                return out

            def counts() -> dict[str, int]:
                return dict(rows(engine, "SELECT location, count(*) FROM run GROUP BY location"))

            # every location probes from its own address: c sees the 500, a and b do not
            assert wait_for(lambda: min(counts().get(x, 0) for x in "abc") >= 4, 90, 0.5), (
                counts(),
                log.read_text()[-3000:],
            )
            seen = runs_by_location()
            # (an ``error`` run — a probe timed out on a loaded machine — measures nothing)
            assert seen["a"] - {"error"} == {"pass"} and seen["b"] - {"error"} == {"pass"}, seen
            assert seen["c"] - {"error"} == {"fail"}, seen
            (state,) = rows(engine, "SELECT state, last_summary FROM check_state")
            assert state[0] == "pass", state
            assert "failing from c" in state[1]
            assert not rows(engine, "SELECT id FROM transition WHERE state = 'fail'")
            time.sleep(2.0)  # the dispatcher has had its chance to say anything
            assert not [r for r in recorder.requests if json.loads(r["body"])["status"] == "firing"]

            failing.add(ADDRESSES["b"])  # now b fails too: quorum reached

            def fired() -> bool:
                return any(json.loads(r["body"])["status"] == "firing" for r in recorder.requests)

            assert wait_for(fired, 60, 0.3), (counts(), log.read_text()[-3000:])
            alert = next(
                json.loads(r["body"])
                for r in recorder.requests
                if json.loads(r["body"])["status"] == "firing"
            )
            assert alert["service"] == "shop" and alert["state"] == "fail"
            assert {f.get("location") for f in alert["findings"]} >= {"b", "c"}
            (transition,) = rows(
                engine, "SELECT previous_state, state FROM transition WHERE state = 'fail'"
            )
            assert tuple(transition) == ("pass", "fail")
        finally:
            for proc in procs:
                stop(proc)
            engine.dispose()


def start_located(config: Path, location: str, address: str, log: Path) -> Any:
    """``auditor worker --location L --source-address IP``."""
    import os
    import subprocess
    import sys

    out = open(log, "ab")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "auditor",
            "worker",
            "--config",
            str(config),
            "--location",
            location,
            "--source-address",
            address,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        cwd=str(config.parent),
    )
