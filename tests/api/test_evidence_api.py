"""``POST/GET /services/{id}/evidence`` and ``/deploys``: scopes, 413/415/422 naming the
problem, nothing half-stored, the report served back, and evidence for 1.0 going stale
once CI says 1.1 is deployed (through the real check over the real store)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from auditor.probe.http import HttpProber
from auditor.schedule.history import StoreHistory
from auditor.schedule.runner import run_check
from auditor.store.accounts import create_token
from auditor.store.db import Database
from checks.base import RunStatus, Target
from checks.evidence import EvidenceCheck
from tests.api.conftest import auth, make_check, make_service

JUNIT_OK = (b'<testsuites><testsuite name="migrations" tests="1">'
            b'<testcase classname="m" name="test_roundtrip"/></testsuite></testsuites>')  # fmt: skip
K6 = {"metrics": {"http_reqs": {"count": 6000, "rate": 100.0},
                  "http_req_failed": {"value": 0.0002},
                  "http_req_duration": {"p(95)": 250.0, "p(90)": 120.0}}}  # fmt: skip


@pytest.fixture
def pusher(store: Database) -> dict[str, str]:
    return auth(create_token(store, name="ci", role="viewer", scopes=["evidence"])[1])


@pytest.fixture
def svc(client: FlaskClient, admin: dict[str, str]) -> dict[str, Any]:
    service = make_service(client, admin)
    make_check(client, admin, service["id"], kind="evidence", name="load",
               options={"item": "load-testing", "version_path": None,
                        "rules": {"p95": "<= 300ms", "error_rate": "<= 0.1%"}})  # fmt: skip
    make_check(client, admin, service["id"], kind="evidence", name="migrations-tested",
               options={"item": "migrations-tested", "version_path": None,
                        "rules": {"suite": "migrations"}})  # fmt: skip
    return service


def push(client: FlaskClient, headers: dict[str, str], sid: str, raw: bytes,
         **fields: str) -> Any:  # fmt: skip
    data: dict[str, Any] = {"file": (io.BytesIO(raw), "report"), **fields}
    return client.post(f"/api/v1/services/{sid}/evidence", data=data, headers=headers,
                       content_type="multipart/form-data")  # fmt: skip


def stored(client: FlaskClient, headers: dict[str, str], sid: str) -> int:
    r = client.get(f"/api/v1/services/{sid}/evidence", headers=headers)
    assert r.status_code == 200, r.json
    return int(r.json["pagination"]["total_items"])


def test_push_list_and_report_back(client: FlaskClient, svc: dict[str, Any],
                                   pusher: dict[str, str], viewer: dict[str, str]) -> None:  # fmt: skip
    raw = json.dumps(K6).encode()
    r = push(client, pusher, svc["id"], raw, item="load-testing", commit="abc123", version="1.0")
    assert r.status_code == 201, r.json
    data = r.json["data"]
    assert r.json["success"] is True and data["format"] == "k6-summary"
    assert data["verdict"] == "pass" and data["pushed_by"] == "token:ci"
    assert (data["commit"], data["version"], data["report_size"]) == ("abc123", "1.0", len(raw))
    listed = client.get(f"/api/v1/services/{svc['id']}/evidence?item=load-testing", headers=viewer)
    assert listed.json["data"][0]["id"] == data["id"] and "report" not in listed.json["data"][0]
    back = client.get(f"/api/v1/services/{svc['id']}/evidence/{data['id']}/report", headers=viewer)
    assert back.status_code == 200 and back.data == raw


def test_a_breaking_report_is_stored_with_verdict_fail(client: FlaskClient, svc: dict[str, Any],
                                                      pusher: dict[str, str]) -> None:  # fmt: skip
    slow = json.loads(json.dumps(K6))
    slow["metrics"]["http_req_duration"]["p(95)"] = 450.0
    r = push(client, pusher, svc["id"], json.dumps(slow).encode(), item="load-testing")
    assert r.status_code == 201 and r.json["data"]["verdict"] == "fail"
    assert r.json["data"]["summary"]["broken"] == ["p95 is 450ms, needs p95 <= 300ms"]


def test_scope_is_required(client: FlaskClient, svc: dict[str, Any], admin: dict[str, str]) -> None:
    r = push(client, admin, svc["id"], JUNIT_OK, item="migrations-tested")
    assert r.status_code == 403 and "evidence scope" in r.json["error"]["message"]
    assert push(client, {}, svc["id"], JUNIT_OK, item="migrations-tested").status_code == 401
    assert stored(client, admin, svc["id"]) == 0


def test_token_api_grants_the_scope(client: FlaskClient, svc: dict[str, Any],
                                    admin: dict[str, str]) -> None:  # fmt: skip
    r = client.post("/api/v1/tokens", json={"name": "ci-2", "role": "viewer",
                                            "scopes": ["evidence"]}, headers=admin)  # fmt: skip
    assert r.status_code == 201 and r.json["data"]["scopes"] == ["evidence"]
    r2 = push(client, auth(r.json["data"]["token"]), svc["id"], JUNIT_OK, item="migrations-tested")
    assert r2.status_code == 201, r2.json
    bad = client.post("/api/v1/tokens", json={"name": "x", "role": "viewer", "scopes": ["root"]},
                      headers=admin)  # fmt: skip
    assert bad.status_code == 422


@pytest.mark.parametrize(("raw", "fields", "status", "code", "field", "says"), [
    (json.dumps(K6).encode()[:40], {"item": "load-testing"}, 422, "report_truncated", "file",
     "not valid JSON"),
    (b'{"metrics": {}}', {"item": "load-testing"}, 422, "report_malformed", "file", "http_reqs"),
    (JUNIT_OK, {"item": "load-testing"}, 422, "report_wrong_format", "file",
     "does not prove 'load-testing'"),
    (JUNIT_OK, {"item": "load-testing", "format": "k6-summary"}, 422, "report_wrong_format",
     "format", "not the declared k6-summary"),
    (JUNIT_OK, {"item": "perf"}, 422, "validation_failed", "item", "unknown item 'perf'"),
    (JUNIT_OK, {}, 422, "validation_failed", "item", "name the checklist item"),
    (JUNIT_OK, {"item": "migrations-tested", "version": "1 0"}, 422, "validation_failed",
     "version", "without spaces"),
    (JUNIT_OK, {"item": "migrations-tested", "colour": "red"}, 422, "validation_failed",
     "colour", "unknown form field"),
])  # fmt: skip
def test_bad_pushes_name_the_problem_and_store_nothing(
    client: FlaskClient, svc: dict[str, Any], pusher: dict[str, str], raw: bytes,
    fields: dict[str, str], status: int, code: str, field: str, says: str,
) -> None:  # fmt: skip
    r = push(client, pusher, svc["id"], raw, **fields)
    assert r.status_code == status, r.json
    assert r.json["success"] is False and r.json["error"]["code"] == code
    detail = r.json["error"]["details"][0]
    assert detail["field"] == field and says in detail["message"]
    assert stored(client, pusher, svc["id"]) == 0


def test_over_the_size_limit_is_413(client: FlaskClient, svc: dict[str, Any],
                                    pusher: dict[str, str]) -> None:  # fmt: skip
    client.application.config["EVIDENCE_MAX_BYTES"] = 2048
    big = b"<testsuite>" + b"<testcase name='x'/>" * 200 + b"</testsuite>"
    r = push(client, pusher, svc["id"], big, item="migrations-tested")
    assert r.status_code == 413 and "2048 byte limit" in r.json["error"]["message"]
    assert stored(client, pusher, svc["id"]) == 0


def test_not_multipart_is_415(client: FlaskClient, svc: dict[str, Any],
                              pusher: dict[str, str]) -> None:  # fmt: skip
    r = client.post(f"/api/v1/services/{svc['id']}/evidence", json={"item": "x"}, headers=pusher)
    assert r.status_code == 415 and "multipart/form-data" in r.json["error"]["message"]


def test_unknown_service_is_404(client: FlaskClient, pusher: dict[str, str]) -> None:
    r = push(client, pusher, "0b5b6a4e-8f0e-4a57-9c55-8d2f1f3f0a11", JUNIT_OK, item="x")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


async def _judge(store: Database, sid: str, check: dict[str, Any]) -> Any:
    chk = EvidenceCheck()
    opts = chk.Options.model_validate(check["options"])
    target = Target("svc", "https://svc.example.com", check["name"], "evidence", service_id=sid)
    return await run_check(chk, target, opts, prober=HttpProber(), timeout=5,
                           history=StoreHistory(store))  # fmt: skip


async def test_evidence_for_1_0_goes_stale_after_a_deploy_of_1_1(
    client: FlaskClient, store: Database, admin: dict[str, str], pusher: dict[str, str]
) -> None:
    service = make_service(client, admin, name="stale-svc")
    check = make_check(client, admin, service["id"], kind="evidence", name="load",
                       options={"item": "load-testing", "version_path": None,
                                "rules": {"p95": "<= 300ms"}})  # fmt: skip
    r = push(client, pusher, service["id"], json.dumps(K6).encode(), item="load-testing",
             version="1.0")  # fmt: skip
    assert r.status_code == 201
    deploy = client.post(f"/api/v1/services/{service['id']}/deploys",
                         json={"version": "1.0", "commit": "abc"}, headers=pusher)  # fmt: skip
    assert deploy.status_code == 201, deploy.json
    fresh = await _judge(store, service["id"], check)
    assert fresh.status is RunStatus.PASS and fresh.facts["verdict"] == "pass"
    client.post(f"/api/v1/services/{service['id']}/deploys", json={"version": "1.1"},
                headers=pusher)  # fmt: skip
    stale = await _judge(store, service["id"], check)
    assert stale.status is RunStatus.FAIL and stale.facts["verdict"] == "stale"
    assert [f.code for f in stale.findings] == ["evidence.stale"]
    assert "made for version 1.0, the service now runs 1.1" in stale.summary
    scopeless = client.post(f"/api/v1/services/{service['id']}/deploys", json={"version": "2"},
                            headers=admin)  # fmt: skip
    assert scopeless.status_code == 403


def test_retention_keeps_each_items_newest_report(
    client: FlaskClient, store: Database, svc: dict[str, Any], pusher: dict[str, str]
) -> None:
    from datetime import timedelta

    from auditor.store.evidence import latest_evidence
    from auditor.store.models import utcnow
    from auditor.store.retention import RetentionPolicy, run_retention

    for _ in range(3):
        assert (
            push(client, pusher, svc["id"], JUNIT_OK, item="migrations-tested").status_code == 201
        )
    assert (
        push(client, pusher, svc["id"], json.dumps(K6).encode(), item="load-testing").status_code
        == 201
    )
    newest = latest_evidence(store, svc["id"], "migrations-tested")
    report = run_retention(store, utcnow() + timedelta(days=60), RetentionPolicy())
    assert report.evidence_pruned == 2  # two older JUnit reports; each item keeps its newest
    assert stored(client, pusher, svc["id"]) == 2
    assert latest_evidence(store, svc["id"], "migrations-tested") == newest
