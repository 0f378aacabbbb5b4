"""The service page lists each evidence item: verdict (stale once the check says so),
format, version, commit, age, and a link that serves the stored report back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.store.db import Database
from auditor.store.evidence import add_evidence
from auditor.store.evidence_models import Evidence
from auditor.store.models import Service
from checks.evidence.formats import parse_report
from tests.web.conftest import record
from web import create_app

JUNIT = (b'<testsuites><testsuite name="migrations"><testcase classname="m" name="up"/>'
         b"</testsuite></testsuites>")  # fmt: skip


def test_service_page_shows_evidence_and_serves_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    db_url = f"sqlite:///{tmp_path}/web.db"
    config = parse_config({"auditor": {"database_url": db_url, "anonymous_read": True},
                           "services": [{"name": "payments-api", "url": "http://127.0.0.1:9",
                                         "checks": [
        {"kind": "evidence", "name": "migrations-tested", "item": "migrations tested"},
        {"kind": "evidence", "name": "load-testing", "item": "load testing completed"},
    ]}]}, environ={})  # fmt: skip
    store = Database(db_url)
    sync_config(store, config)
    with store.read() as s:
        sid = s.exec(select(Service.id)).one()
    fmt, summary = parse_report(JUNIT)
    row = add_evidence(store, Evidence(
        service_id=sid, item="migrations tested", format=fmt, verdict="pass", summary=summary,
        pushed_by="token:ci", commit="0123456789abcdef0123", version="1.0", report=JUNIT,
        report_size=len(JUNIT), report_sha256=hashlib.sha256(JUNIT).hexdigest()))  # fmt: skip
    record(store, "payments-api", "migrations-tested", "fail",
           findings=(("evidence.stale", "medium", "made for version 1.0, now 1.1"),))  # fmt: skip
    client = create_app(config, store, test_config={"TESTING": True}).test_client()
    html = client.get("/services/payments-api").get_data(as_text=True)
    assert "Evidence: <strong>stale</strong> · junit-xml for 1.0 (0123456789ab)" in html
    assert "pushed " in html and "by token:ci" in html
    assert ('auditor evidence push --service payments-api --item "load testing completed"'
            in html.replace("&#34;", '"'))  # fmt: skip
    link = f"/services/payments-api/evidence/{row.id}/report"
    assert link in html
    report = client.get(link)
    assert report.status_code == 200 and report.data == JUNIT
    assert report.headers["Content-Disposition"].startswith("attachment")
    assert client.get("/services/payments-api/evidence/nope/report").status_code == 404
    store.close()
