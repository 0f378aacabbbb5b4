"""Shared helpers for alerting tests: a seeded store, fake clock, recording HTTP receivers."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from auditor.config import AlertingModel, AuditorSettings, Config, ReceiverModel
from auditor.schedule.runner import RunResult
from auditor.store.claims import Claim
from auditor.store.db import Database
from auditor.store.models import Check, CheckState, Service, Transition
from checks.base import Finding, RunStatus, Target

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_config(
    *receivers: dict[str, Any], maintenance: list[dict[str, Any]] | None = None
) -> Config:
    return Config(
        auditor=AuditorSettings(public_url="https://auditor.example"),
        services=(),
        alerting=AlertingModel(
            receivers=[ReceiverModel.model_validate(r) for r in receivers],
            maintenance=maintenance or [],  # type: ignore[arg-type]
        ),
    )


def seed(
    store: Database,
    service: str = "payments-api",
    checks: tuple[str, ...] = ("health",),
    environment: str = "production",
    kind: str = "health",
) -> dict[str, Check]:
    with store.write() as s:
        svc = Service(
            name=service, url=f"https://{service}.test", environment=environment, tags=["tier-1"]
        )
        s.add(svc)
        s.flush()
        out = {}
        for name in checks:
            chk = Check(service_id=svc.id, name=name, kind=kind, severity="critical")
            s.add(chk)
            s.flush()
            s.add(CheckState(check_id=chk.id, service_id=svc.id))
            out[name] = chk
        return out


def add_transition(
    store: Database,
    chk: Check,
    prev: str,
    state: str,
    at: datetime,
    findings: list[dict[str, Any]] | None = None,
) -> str:
    """Write a transition and the matching latest state (what store.complete does)."""
    with store.write() as s:
        t = Transition(
            check_id=chk.id,
            service_id=chk.service_id,
            previous_state=prev,
            state=state,
            findings=findings or [],
            at=at,
            created_at=at,
        )
        s.add(t)
        st = s.get(CheckState, chk.id)
        assert st is not None
        st.state, st.last_run_at = state, at
        s.add(st)
        return t.id


def run_result(
    chk: Check,
    status: str,
    at: datetime,
    findings: list[Finding] | None = None,
    facts: dict[str, Any] | None = None,
) -> tuple[Claim, RunResult]:
    target = Target(
        service="svc",
        url="https://x.test",
        check=chk.name,
        kind=chk.kind,
        service_id=chk.service_id,
        check_id=chk.id,
    )
    claim = Claim(
        check_id=chk.id,
        service_id=chk.service_id,
        due_at=at,
        kind=chk.kind,
        name=chk.name,
        options={},
        timeout_s=10,
        interval_s=300,
        schedule=None,
        jitter_s=0,
        target=target,
        lease_until=at,
    )
    return claim, RunResult(
        target=target,
        status=RunStatus(status),
        summary=f"{status} run",
        findings=findings or [],
        facts=facts or {},
        started_at=at,
        duration_ms=1.0,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Recorder:
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    validate: Callable[[str, dict[str, str], bytes], str | None] | None = None


@contextmanager
def http_receiver(port: int, recorder: Recorder) -> Iterator[str]:
    """A real HTTP receiver on 127.0.0.1:port recording every POST."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            problem = recorder.validate(self.path, headers, body) if recorder.validate else None
            status = 400 if problem else recorder.status
            recorder.requests.append(
                {
                    "path": self.path,
                    "headers": headers,
                    "body": body,
                    "problem": problem,
                    "status": status,
                }
            )
            data = json.dumps({"error": problem} if problem else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
