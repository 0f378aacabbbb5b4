"""The demo a new user sees: one service fully ready, one broken in every checklist area."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from auditor.audit import run_audit
from auditor.config import load_config
from auditor.config.sync import sync_config
from auditor.demo import _sign_checklist, prepare, seed_evidence
from auditor.store.db import Database


@pytest.fixture
def demo_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], object]:
    path, servers, environ = prepare(tmp_path, "127.0.0.1:0")
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    try:
        config = load_config(path, environ=os.environ)
        store = Database(config.auditor.database_url)
        sync_config(store, config)
        _sign_checklist(store, "payments-api")
        seed_evidence(store)
        results = asyncio.run(run_audit(config, store))
    finally:
        for server in servers:
            server.stop()
    return {(r.target.service, r.target.check): r for r in results}


def test_demo_shows_a_ready_and_a_broken_service(demo_results: dict) -> None:
    healthy = {k: v for k, v in demo_results.items() if k[0] == "payments-api"}
    broken = {k[1]: v for k, v in demo_results.items() if k[0] == "orders-api"}
    assert len(healthy) == 13 and len(broken) == 13
    assert {k: str(r.status) for k, r in healthy.items() if str(r.status) != "pass"} == {}
    codes = {name: {f.code for f in r.findings} for name, r in broken.items()}
    assert {"tls.expiring", "tls.self_signed", "tls.hostname_mismatch"} <= codes["tls"]
    assert "headers.content-security-policy" in codes["headers"]
    assert "health.status" in codes["health"]
    assert "redirect.missing" in codes["redirect"]
    assert "exposure.stack_trace" in codes["exposure"]
    assert "exposure.server_version" in codes["exposure"]
    assert "migrations.pending" in codes["migrations"]
    assert "backups.too_old" in codes["backups"]
    assert {"env.missing", "env.placeholder", "env.debug_enabled"} <= codes["env"]
    # evidence for 2.3.0, then CI deployed 2.4.0: the load test no longer proves anything
    assert codes["load-testing"] == {"evidence.stale"}
    assert "made for version 2.3.0, the service now runs 2.4.0" in broken["load-testing"].summary
    assert codes["migrations-tested"] == {"evidence.missing"}
    assert healthy[("payments-api", "load-testing")].facts["evidence"]["format"] == "k6-summary"
    assert healthy[("payments-api", "rollback-runbook")].facts["verdict"] == "attested"
    assert all(str(r.status) == "fail" for r in broken.values())


def test_demo_includes_a_discovered_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo ships a file_sd target file: its service is found, checked and shows its file."""
    from auditor.discovery import discover_once
    from auditor.store.service_admin import service_named

    path, servers, environ = prepare(tmp_path, "127.0.0.1:0")
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    try:
        config = load_config(path, environ=os.environ)
        store = Database(config.auditor.database_url)
        sync_config(store, config)
        asyncio.run(discover_once(config, store))
        results = asyncio.run(run_audit(config, store, services=["inventory-api"]))
        svc = service_named(store, "inventory-api")
        store.close()
    finally:
        for server in servers:
            server.stop()
    assert svc is not None and svc.source == "file_sd"
    assert svc.source_ref == str((tmp_path / "discovery" / "targets.json").resolve())
    assert (svc.environment, svc.owner) == ("staging", "team-inventory")
    assert [(r.target.check, str(r.status)) for r in results] == [("health", "pass")]
