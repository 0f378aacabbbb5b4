"""``auditor evidence push`` / ``deploy`` against a served app over a real store: a real
pytest JUnit report with a failure is stored with verdict fail (exit 1), a green one passes
(exit 0), an unknown item is refused naming it (exit 2), and after ``deploy --version 1.1``
the check judges the 1.0 report stale. The pushed report comes back byte for byte."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlmodel import select
from werkzeug.serving import make_server

from auditor.cli import main
from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.probe.http import HttpProber
from auditor.schedule.history import StoreHistory
from auditor.schedule.runner import run_check
from auditor.store.accounts import create_token
from auditor.store.db import Database
from auditor.store.models import Check, Service
from checks.base import RunStatus, Target
from checks.evidence import EvidenceCheck
from web import create_app

ITEM = "migrations tested"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    config = parse_config({"services": [{
        "name": "payments", "url": "https://payments.example.com",
        "checks": [{"kind": "evidence", "name": "migrations-tested", "item": ITEM,
                    "version_path": "", "rules": ["suite = migrations"]}],
    }]}, environ={})  # fmt: skip
    store = Database(f"sqlite:///{tmp_path}/cli.db")
    sync_config(store, config)
    app = create_app(config, store, test_config={"TESTING": True})
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    token = create_token(store, name="ci", role="viewer", scopes=["evidence"])[1]
    yield {"url": f"http://127.0.0.1:{srv.socket.getsockname()[1]}", "token": token,
           "store": store}  # fmt: skip
    srv.shutdown()
    store.close()


def run(srv: dict[str, Any], *args: str) -> Any:
    return CliRunner().invoke(main, ["evidence", *args, "--url", srv["url"], "--token",
                                     srv["token"], "--service", "payments"])  # fmt: skip


async def judge(store: Database) -> Any:
    with store.read() as s:
        chk = s.exec(select(Check).where(Check.name == "migrations-tested")).one()
        svc = s.get(Service, chk.service_id)
    ev = EvidenceCheck()
    target = Target("payments", svc.url, chk.name, "evidence", service_id=svc.id, check_id=chk.id)
    return await run_check(ev, target, ev.Options.model_validate(chk.options),
                           prober=HttpProber(), timeout=5, history=StoreHistory(store))  # fmt: skip


async def test_push_deploy_and_stale(server: dict[str, Any], tmp_path: Path, junit_xml: bytes,
                                     junit_green: bytes) -> None:  # fmt: skip
    red, green = tmp_path / "red.xml", tmp_path / "green.xml"
    red.write_bytes(junit_xml)
    green.write_bytes(junit_green)
    r = run(server, "push", "--item", ITEM, "--version", "1.0", "--commit", "abc1", str(red))
    assert r.exit_code == 1, r.output
    assert "stored junit-xml for payments/migrations tested (1.0): fail" in r.output
    assert "1 failed and 0 errored of 2 tests" in r.output
    r = run(server, "push", "--item", ITEM, "--version", "1.0", str(green))
    assert r.exit_code == 0 and ": pass" in r.output, r.output
    eid = r.output.strip().splitlines()[-1]
    sid = (await judge(server["store"])).target.service_id
    back = httpx.get(f"{server['url']}/api/v1/services/{sid}/evidence/{eid}/report",
                     headers={"Authorization": f"Bearer {server['token']}"})  # fmt: skip
    assert back.content == junit_green
    fresh = await judge(server["store"])
    assert fresh.status is RunStatus.PASS, fresh.summary
    r = run(server, "deploy", "--version", "1.1")
    assert r.exit_code == 0 and "recorded deploy of 1.1" in r.output
    stale = await judge(server["store"])
    assert stale.status is RunStatus.FAIL and stale.facts["verdict"] == "stale"
    assert "made for version 1.0, the service now runs 1.1 (deploy event)" in stale.summary


def test_refusals_name_the_problem(server: dict[str, Any], tmp_path: Path,
                                   junit_green: bytes) -> None:  # fmt: skip
    report = tmp_path / "r.xml"
    report.write_bytes(junit_green)
    r = run(server, "push", "--item", "load", str(report))
    assert r.exit_code == 2 and "unknown item 'load'" in r.output
    report.write_bytes(junit_green[: len(junit_green) // 2])
    r = run(server, "push", "--item", ITEM, str(report))
    assert r.exit_code == 2 and "report_" in r.output and "does not parse" in r.output
    r = CliRunner().invoke(main, ["evidence", "push", "--url", "http://127.0.0.1:9", "--token",
                                  "x", "--service", "p", "--item", ITEM, str(report)])  # fmt: skip
    assert r.exit_code == 3 and "cannot reach the auditor" in r.output


def test_token_create_with_the_evidence_scope(tmp_path: Path) -> None:
    import json

    (tmp_path / "config.toml").write_text(
        f'[auditor]\ndatabase_url = "sqlite:///{tmp_path}/t.db"\n'
    )
    cfg = str(tmp_path / "config.toml")
    r = CliRunner().invoke(main, ["token", "create", "--config", cfg, "--role", "viewer",
                                  "--name", "ci", "--scope", "evidence"])  # fmt: skip
    assert r.exit_code == 0 and "(viewer, scope evidence)" in r.output, r.output
    listed = CliRunner().invoke(main, ["token", "list", "--config", cfg, "--format", "json"])
    assert json.loads(listed.output)[0]["scopes"] == ["evidence"]
    bad = CliRunner().invoke(main, ["token", "create", "--config", cfg, "--role", "viewer",
                                    "--name", "x", "--scope", "root"])  # fmt: skip
    assert bad.exit_code == 2 and "'root' is not 'evidence'" in bad.output
