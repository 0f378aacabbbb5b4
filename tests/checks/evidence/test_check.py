"""The ``evidence`` kind end to end over a local service on 127.0.0.1: the deployed version
read from its health+json, stale on a newer version or by age, the attestation fallback, a
rollback drill's runbook reached, rules re-judged from the current config, bad options."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest
from flask import Flask, jsonify
from werkzeug.serving import make_server

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import History, RunStatus, Target
from checks.evidence import EvidenceCheck
from checks.evidence.formats import parse_report

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
K6 = {"metrics": {"http_reqs": {"count": 6000, "rate": 100.0},
                  "http_req_failed": {"value": 0.0},
                  "http_req_duration": {"p(95)": 250.0}}}  # fmt: skip


class Stored(History):
    def __init__(self, evidence: Mapping[str, Any] | None = None,
                 deploy: Mapping[str, Any] | None = None,
                 attestation: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        self.ev, self.dep, self.att = evidence, deploy, attestation

    def previous_facts(self, check_id: str, limit: int = 1) -> list[Mapping[str, Any]]:
        return []

    def heartbeats(self, check_id: str, limit: int = 50) -> list[Mapping[str, Any]]:
        return []

    def attestation(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        return self.att

    def evidence(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        return self.ev

    def deployed_version(self, service_id: str) -> Mapping[str, Any] | None:
        return self.dep


def record(raw: bytes, version: str | None = "1.0", days_ago: float = 1) -> dict[str, Any]:
    fmt, summary = parse_report(raw)
    return {"id": "e1", "format": fmt, "version": version, "commit": "abc",
            "pushed_by": "token:ci", "pushed_at": (NOW - timedelta(days=days_ago)).isoformat(),
            "summary": summary, "finished_at": summary.get("finished_at")}  # fmt: skip


@pytest.fixture(scope="module")
def service() -> Iterator[dict[str, Any]]:
    """A service whose /health says which version runs (mutable), with a runbook page."""
    state: dict[str, Any] = {"version": "1.0"}
    app = Flask("svc")
    app.add_url_rule("/health", "h", lambda: jsonify(status="pass", version=state["version"]))
    app.add_url_rule("/release", "r", lambda: jsonify(releaseId="2026.12.1"))
    app.add_url_rule("/runbook", "rb", lambda: "how to roll back")
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{srv.socket.getsockname()[1]}"
    yield state
    srv.shutdown()


async def audit(url: str, history: History, **options: Any) -> RunResult:
    check = EvidenceCheck()
    opts = check.Options.model_validate({"item": "load-testing", **options})
    target = Target("svc", url, "load", "evidence", service_id="s1", check_id="c1")
    return await run_check(check, target, opts, prober=HttpProber(), timeout=5, history=history,
                           now=lambda: NOW)  # fmt: skip


async def test_passes_then_goes_stale_when_health_reports_a_new_version(
    service: dict[str, Any],
) -> None:
    hist = Stored(record(json.dumps(K6).encode(), "1.0"))
    service["version"] = "1.0"
    ok = await audit(service["url"], hist, rules={"p95": "<= 300ms"})
    assert ok.status is RunStatus.PASS and ok.facts["deployed"]["version"] == "1.0"
    service["version"] = "1.1"
    stale = await audit(service["url"], hist, rules={"p95": "<= 300ms"})
    assert stale.status is RunStatus.FAIL and stale.facts["verdict"] == "stale"
    assert "made for version 1.0, the service now runs 1.1 (/health)" in stale.summary
    aged = await audit(service["url"], hist, stale_on="age")
    assert aged.status is RunStatus.PASS  # per item: this one goes stale by age only
    service["version"] = "1.0"


async def test_release_id_and_deploy_event_fallback(service: dict[str, Any]) -> None:
    hist = Stored(record(json.dumps(K6).encode(), "2026.11.30"), deploy={"version": "2027.1"})
    r = await audit(service["url"], hist, version_path="/release")
    assert "now runs 2026.12.1 (/release)" in r.summary
    r = await audit(service["url"], hist, version_path="/missing")
    assert "now runs 2027.1 (deploy event)" in r.summary


async def test_too_old_and_a_tightened_rule(service: dict[str, Any]) -> None:
    hist = Stored(record(json.dumps(K6).encode(), "1.0", days_ago=40))
    old = await audit(service["url"], hist, max_age="30d")
    assert [f.code for f in old.findings] == ["evidence.stale"] and "40.0 days old" in old.summary
    tight = await audit(service["url"], Stored(record(json.dumps(K6).encode())),
                        rules=["p95 <= 200ms"])  # fmt: skip
    assert tight.status is RunStatus.FAIL and "p95 is 250ms, needs p95 <= 200ms" in tight.summary


async def test_missing_and_the_attestation_fallback(service: dict[str, Any]) -> None:
    missing = await audit(service["url"], Stored())
    assert [f.code for f in missing.findings] == ["evidence.missing"]
    assert "auditor evidence push" in missing.summary
    att = {"signed_by": "bob", "signed_at": NOW - timedelta(days=2), "expires_at": None}
    attested = await audit(service["url"], Stored(attestation=att))
    assert attested.status is RunStatus.PASS and attested.facts["verdict"] == "attested"
    assert "signed off by bob (attestation fallback)" in attested.summary
    strict = await audit(service["url"], Stored(attestation=att), fallback="none")
    assert strict.status is RunStatus.FAIL


async def test_rollback_drill_needs_success_and_a_reachable_runbook(
    service: dict[str, Any],
) -> None:
    drill = {"from": "1.1", "to": "1.0", "started_at": "2026-12-01T10:00:00Z",
             "finished_at": "2026-12-01T10:03:00Z", "outcome": "success",
             "runbook_url": service["url"] + "/runbook"}  # fmt: skip
    ok = await audit(service["url"], Stored(record(json.dumps(drill).encode())),
                     item="rollback drill")  # fmt: skip
    assert ok.status is RunStatus.PASS, ok.summary
    gone = {**drill, "runbook_url": service["url"] + "/nowhere"}
    r = await audit(
        service["url"], Stored(record(json.dumps(gone).encode())), item="rollback drill"
    )
    assert [f.code for f in r.findings] == ["evidence.runbook_unreachable"]
    assert "answers HTTP 404" in r.summary
    old = {**drill, "finished_at": "2026-06-01T10:03:00Z", "started_at": "2026-06-01T10:00:00Z"}
    r = await audit(service["url"], Stored(record(json.dumps(old).encode())), item="rollback drill")
    assert [f.code for f in r.findings] == ["evidence.stale"]  # 90 days by default, by age
    failed = {**drill, "outcome": "failed"}
    r = await audit(
        service["url"], Stored(record(json.dumps(failed).encode())), item="rollback drill"
    )
    assert [f.code for f in r.findings] == ["evidence.drill_failed"]


@pytest.mark.parametrize(("options", "says"), [
    ({"item": "whatever"}, "family: cannot tell from item"),
    ({"item": "load-testing", "formats": ["sarif"]}, "formats: sarif is not a load report"),
    ({"item": "load-testing", "rules": {"max_level": "error"}}, "a rule for scan reports"),
    ({"item": "load-testing", "rules": {"p95": "fast"}}, "p95"),
    ({"item": "load-testing", "stale_on": "version", "stale_on_new_version": False}, "disagree"),
    ({"item": "load-testing", "formats": ["csv"]}, "unknown format 'csv'"),
])  # fmt: skip
def test_bad_options_name_the_key(options: dict[str, Any], says: str) -> None:
    with pytest.raises(pydantic.ValidationError) as err:
        EvidenceCheck.Options.model_validate(options)
    assert says in str(err.value)
