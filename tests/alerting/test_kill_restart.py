"""A dispatcher process SIGKILLed mid-delivery: after restart the alert is delivered once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from auditor.alerting.dispatcher import Dispatcher
from auditor.alerting.history import list_deliveries
from auditor.store.db import Database
from auditor.store.models import utcnow
from tests.alerting.helpers import Recorder, add_transition, http_receiver, make_config, seed

CHILD = """
import asyncio, sys
from auditor.alerting.dispatcher import Dispatcher
from auditor.config import AlertingModel, AuditorSettings, Config, ReceiverModel
from auditor.store.db import Database
store = Database(sys.argv[1])
cfg = Config(auditor=AuditorSettings(), services=(), alerting=AlertingModel(receivers=[
    ReceiverModel(name="ops", type="webhook", unsigned=True, url=f"http://127.0.0.1:{sys.argv[2]}/hook", timeout=3600)]))
d = Dispatcher(store, cfg, lease_s=60)
asyncio.run(d.run(asyncio.Event()))
"""


def test_sigkill_between_transition_and_delivery(sqlite_url: str, tmp_path: Path) -> None:
    store = Database(sqlite_url)
    try:
        checks = seed(store)
        tid = add_transition(store, checks["health"], "pass", "fail", utcnow())
        # a receiver that accepts the connection and never answers: the child hangs mid-send
        black_hole = socket.socket()
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)
        port = black_hole.getsockname()[1]
        root = Path(__file__).resolve().parents[2]
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, sqlite_url, str(port)],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                rows, _ = list_deliveries(store)
                if rows and rows[0]["attempts"] == 1:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the child never started delivering")
            time.sleep(0.2)  # the request is in flight (the black hole never answers)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
            black_hole.close()
        rows, _ = list_deliveries(store)
        assert rows[0]["status"] == "pending"

        rec = Recorder()
        with http_receiver(port, rec):
            later = Dispatcher(
                store,
                make_config(
                    {
                        "name": "ops",
                        "type": "webhook",
                        "unsigned": True,
                        "url": f"http://127.0.0.1:{port}/hook",
                    }
                ),
                clock=lambda: utcnow() + timedelta(seconds=61),  # the dead node's lease has expired
            )
            assert asyncio.run(later.tick()) == 1
            assert asyncio.run(later.tick()) == 0
        assert [json.loads(r["body"])["id"] for r in rec.requests] == [tid]
        rows, _ = list_deliveries(store)
        assert rows[0]["status"] == "delivered" and rows[0]["attempts"] == 2
    finally:
        store.close()
