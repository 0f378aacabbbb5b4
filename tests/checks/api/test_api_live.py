"""The ``api`` kind end to end against real Flask services on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from auditor.schedule.runner import RunResult
from tests.checks.api import apps
from tests.checks.api.support import codes, run_api
from tests.checks.tls.servers import wsgi_server

LIVE_RULES = [
    "live.not-found-envelope",
    "live.error-leak",
    "live.list-envelope",
    "live.content-type",
    "live.options-methods",
]


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    with (
        wsgi_server(apps.good_app(), banner="app") as good,
        wsgi_server(apps.broken_live_app(), banner="app") as broken,
    ):
        yield {"good": good, "broken": broken}


@pytest.fixture(scope="module")
def broken_result(ports: dict[str, int]) -> RunResult:
    return asyncio.run(run_api(ports["broken"]))


async def test_conventional_service_has_zero_findings(ports: dict[str, int]) -> None:
    result = await run_api(ports["good"])
    assert (str(result.status), result.findings) == ("pass", []), result.summary
    assert result.facts["score"] == 100
    assert result.facts["version"] == "3.1.0"
    assert result.facts["operations"] == 6
    live = result.facts["live"]
    assert live["not_found"]["status"] == 404 and live["not_found"]["json"]
    assert [e["path"] for e in live["lists"]] == ["/api/v1/countries?page=1&limit=1"]
    assert "22 rules pass" in result.summary


@pytest.mark.parametrize("rule", LIVE_RULES)
def test_broken_service_breaks_each_live_rule(broken_result: RunResult, rule: str) -> None:
    assert f"api.{rule}" in codes(broken_result), broken_result.summary


def test_broken_service_result(broken_result: RunResult) -> None:
    assert str(broken_result.status) == "fail"
    assert codes(broken_result) == {f"api.{r}" for r in LIVE_RULES}
    leak = next(f for f in broken_result.findings if f.code == "api.live.error-leak")
    assert "Python traceback" in leak.message and leak.severity == "high"
    assert "Fix: " in leak.message
    options = next(f for f in broken_result.findings if f.code == "api.live.options-methods")
    assert "PUT" in options.message and options.severity == "info"
    assert "Traceback" not in repr(broken_result.facts), "bodies never enter the facts"
    assert broken_result.facts["score"] < 100


async def test_rules_option_switches_a_rule_off_and_changes_severity(ports: dict[str, int]) -> None:
    result = await run_api(
        ports["broken"],
        rules={"live.error-leak": "off", "live.not-found-envelope": "info", "live.list-envelope": "off",
               "live.content-type": "off"},
    )  # fmt: skip
    assert codes(result) == {"api.live.not-found-envelope", "api.live.options-methods"}
    assert str(result.status) == "pass"  # both are only info now
    assert {f.severity for f in result.findings} == {"info"}


async def test_live_off_skips_every_probe(ports: dict[str, int]) -> None:
    result = await run_api(ports["broken"], live=False)
    assert (str(result.status), result.findings) == ("pass", [])
    assert result.facts["live"] is None
    assert "17 rules pass" in result.summary


async def test_probe_token_reaches_protected_lists(ports: dict[str, int]) -> None:
    anonymous = await run_api(ports["good"])
    assert [e["path"] for e in anonymous.facts["live"]["lists"]] == [
        "/api/v1/countries?page=1&limit=1"
    ]
    result = await run_api(
        ports["good"], probe_token_env="API_PROBE_TOKEN", environ={"API_PROBE_TOKEN": apps.TOKEN}
    )
    assert (str(result.status), result.findings) == ("pass", []), result.summary
    paths = sorted(e["path"] for e in result.facts["live"]["lists"])
    assert paths == ["/api/v1/countries?page=1&limit=1", "/api/v1/users?page=1&limit=1"]
    assert apps.TOKEN not in repr(result.facts)


async def test_wrong_probe_token_is_a_live_finding(ports: dict[str, int]) -> None:
    result = await run_api(
        ports["good"], probe_token_env="API_PROBE_TOKEN", environ={"API_PROBE_TOKEN": "wrong"}
    )
    assert codes(result) == {"api.live.list-envelope"}
    assert "/api/v1/users?page=1&limit=1 answered 401" in result.findings[0].message


async def test_unset_probe_token_is_an_error_naming_the_variable(ports: dict[str, int]) -> None:
    result = await run_api(ports["good"], probe_token_env="API_PROBE_TOKEN", environ={})
    assert str(result.status) == "error"
    assert codes(result) == {"api.config"}
    assert "API_PROBE_TOKEN" in result.summary


async def test_live_probes_never_follow_a_host_the_document_names() -> None:
    """The document is hostile data: its server URL contributes a path, never a host."""
    spec = apps.good_spec()
    spec["servers"] = [{"url": "http://169.254.169.254/api/v1"}]
    with wsgi_server(apps.good_app(spec)) as port:
        result = await run_api(port)
    assert (str(result.status), result.findings) == ("pass", []), result.summary
    assert result.facts["live"]["not_found"]["path"].startswith("/api/v1/auditor-")
