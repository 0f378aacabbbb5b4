"""Evidence the demo pushes as CI would: ``payments-api`` has a passing k6 load test and a
green migrations round-trip for the version it runs; ``orders-api`` load-tested 2.3.0, then
CI deployed 2.4.0, so its evidence shows as stale.

Reports are made here in the tools' own formats and go through the same parser and
repository as a real push (``auditor evidence push``), once per item.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from auditor.store.db import Database

HEALTHY_VERSION = "1.4.2"


def _k6(p95: float, failed: float) -> bytes:
    return json.dumps({"metrics": {
        "http_reqs": {"count": 36000, "rate": 120.0},
        "iterations": {"count": 36000, "rate": 120.0},
        "http_req_failed": {"passes": int(36000 * failed), "fails": 36000, "value": failed},
        "http_req_duration": {"avg": p95 / 3, "min": 4.1, "med": p95 / 4, "max": p95 * 3,
                              "p(90)": p95 * 0.8, "p(95)": p95, "p(99)": p95 * 1.6,
                              "thresholds": {"p(95)<300": False}},
    }}, indent=2).encode()  # fmt: skip


_JUNIT = (
    b'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="migrations" tests="2" '
    b'failures="0" errors="0"><testcase classname="tests.test_migrations" name="test_upgrade_head"'
    b' time="1.2"/><testcase classname="tests.test_migrations" name="test_downgrade_base" '
    b'time="0.9"/></testsuite></testsuites>'
)


def seed_evidence(store: Database) -> None:
    """Push the demo's evidence and deploy events (skipped for items that have some)."""
    from sqlmodel import select

    from auditor.store.evidence import add_deploy, add_evidence, latest_evidence
    from auditor.store.evidence_models import DeployEvent, Evidence
    from auditor.store.models import Service, utcnow
    from checks.evidence.formats import parse_report

    with store.read() as s:
        ids = {svc.name: svc.id for svc in s.exec(select(Service)).all()}
    now = utcnow()
    pushes: list[tuple[str, str, bytes, str, Any]] = [
        ("payments-api", "load testing completed", _k6(212.0, 0.0004), HEALTHY_VERSION,
         timedelta(hours=5)),
        ("payments-api", "migrations tested", _JUNIT, HEALTHY_VERSION, timedelta(hours=5)),
        ("orders-api", "load testing completed", _k6(260.0, 0.0008), "2.3.0", timedelta(days=3)),
    ]  # fmt: skip
    for service, item, raw, version, ago in pushes:
        sid = ids.get(service)
        if sid is None or latest_evidence(store, sid, item) is not None:
            continue
        fmt, summary = parse_report(raw)
        add_evidence(store, Evidence(
            service_id=sid, item=item, format=fmt, verdict="pass", summary=summary,
            pushed_by="token:demo-ci", commit=hashlib.sha1(version.encode()).hexdigest()[:12],
            version=version, report=raw, report_size=len(raw),
            report_sha256=hashlib.sha256(raw).hexdigest(), pushed_at=now - ago,
        ))  # fmt: skip
        deployed = "2.4.0" if service == "orders-api" else version
        add_deploy(store, DeployEvent(service_id=sid, version=deployed, pushed_by="token:demo-ci",
                                      at=now - timedelta(hours=1)))  # fmt: skip
