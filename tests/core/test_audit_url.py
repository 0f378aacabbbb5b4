"""``auditor audit URL`` (issue #23): one service audited once with the production profile,
no config file. Real ``auditor`` subprocesses against local HTTPS services whose
certificates come from a trustme CA (the demo's healthy and broken handlers)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from auditor.demo.servers import BrokenHandler, DemoServer, HealthyHandler
from tests.core.served import clean_env, cli

MACHINE_CHECKS = {"tls", "headers", "redirect", "health", "ready", "exposure"}


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    where = tmp_path_factory.mktemp("sites")
    ca = trustme.CA()
    now = datetime.now(UTC)
    leaf = ca.issue_cert(
        "127.0.0.1", not_before=now - timedelta(days=1), not_after=now + timedelta(days=90)
    )
    ca.cert_pem.write_to_path(str(where / "ca.pem"))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(where / "leaf.pem"))
    pem = str(where / "leaf.pem")
    good = DemoServer(HealthyHandler, (pem, pem)).start()
    bad = DemoServer(BrokenHandler, (pem, pem)).start()
    try:
        yield {
            "ca": str(where / "ca.pem"),
            "good": f"https://127.0.0.1:{good.port}",
            "bad": f"https://127.0.0.1:{bad.port}",
        }
    finally:
        good.stop()
        bad.stop()


def _port_80_open() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", 80)) == 0


def _audit(cwd: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    proc = cli(["audit", *args, "--format", "json"], cwd, clean_env())
    try:
        doc = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        pytest.fail(f"not JSON: {proc.stdout!r} {proc.stderr!r}")
    return proc.returncode, doc, proc.stderr


def test_a_healthy_url_passes_the_production_checks(tmp_path: Path, sites: dict[str, Any]) -> None:
    code, doc, err = _audit(tmp_path, sites["good"], "--ca-file", sites["ca"])
    results = {r["check"]: r for r in doc["results"]}
    assert set(results) == MACHINE_CHECKS, err  # the profile, without its manual items
    assert {r["service"] for r in doc["results"]} == {"127.0.0.1"}
    # ``redirect`` probes http://127.0.0.1:80/, which this test does not own: judged only
    # when nothing listens there (a closed port 80 passes, as in the Observatory)
    judged = MACHINE_CHECKS - ({"redirect"} if _port_80_open() else set())
    for name in judged:
        result = results[name]
        assert set(result) >= {"service", "check", "kind", "status", "summary", "findings"}
        assert result["status"] == "pass", result
    if "redirect" in judged:
        assert code == 0 and doc["summary"] == {"pass": 6, "warn": 0, "fail": 0, "error": 0}
    assert list(tmp_path.iterdir()) == []  # nothing stored in the working directory


def test_an_untrusted_certificate_and_a_broken_service_fail(
    tmp_path: Path, sites: dict[str, Any]
) -> None:
    code, doc, _ = _audit(tmp_path, sites["good"], "--kind", "tls")
    assert code == 1
    (tls,) = doc["results"]
    assert tls["status"] == "fail"
    # trustme signs the leaf with its root directly and the server sends the leaf alone: from
    # the client's side that is a lone leaf whose issuer is unknown (issue #18's
    # incomplete_chain), whose message also gives the private-CA fix
    (finding,) = [f for f in tls["findings"] if f["code"] == "tls.incomplete_chain"]
    assert "ca_file" in finding["message"], finding

    code, doc, _ = _audit(tmp_path, sites["bad"], "--ca-file", sites["ca"])
    assert code == 1
    results = {r["check"]: r for r in doc["results"]}
    assert results["health"]["status"] == "fail"
    assert "health.status" in {f["code"] for f in results["health"]["findings"]}
    assert "exposure.stack_trace" in {f["code"] for f in results["exposure"]["findings"]}
    assert doc["summary"]["fail"] >= 3


def test_the_text_report_names_what_a_url_audit_leaves_out(
    tmp_path: Path, sites: dict[str, Any]
) -> None:
    proc = cli(
        ["audit", sites["good"], "--ca-file", sites["ca"], "--kind", "health"],
        tmp_path,
        clean_env(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS  127.0.0.1/health" in proc.stdout and "PASS  127.0.0.1/ready" in proc.stdout
    assert "2 checks: 2 pass" in proc.stdout
    assert "production profile" in proc.stderr and "attestations" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.com"], "must start with http:// or https://"),
        (["not a url"], "must not be empty or contain spaces"),
        (["https://127.0.0.1:99999"], "invalid port"),
        (["https://"], "has no host name"),
        (["https://127.0.0.1", "--service", "x"], "cannot be combined with --service"),
        (["https://127.0.0.1", "--ca-file", "/nonexistent/ca.pem"], "does not exist"),
        (["https://127.0.0.1", "--kind", "nope"], "--kind"),
    ],
)
def test_a_bad_url_is_a_usage_error(tmp_path: Path, args: list[str], message: str) -> None:
    proc = cli(["audit", *args], tmp_path, clean_env())
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
