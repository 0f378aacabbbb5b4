"""The ``monitoring`` kind against a real Prometheus and a real Alertmanager (Debian packages).

What a user sees: a service that is scraped, covered by an alert rule and routed to a
receiver passes with no finding; one Prometheus does not scrape, has no rule for, and whose
alerts end at the ``null`` receiver fails with each of those named; a target whose scrapes
fail names the scrape error; a service without RED series is told so; credentials reach a
Prometheus behind basic auth and never show in the result.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auditor.probe.addresses import AddressPolicy
from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.monitoring import MonitoringCheck
from tests.checks.monitoring.conftest import (
    BASIC_HASH,
    BASIC_PASSWORD,
    BASIC_USER,
    Stack,
    start_prometheus,
    wait_scraped,
)
from tests.metrics.test_prometheus_integration import stop

pytestmark = pytest.mark.slow


async def run(
    prober: HttpProber,
    service: str,
    url: str,
    environ: dict[str, str] | None = None,
    **options: Any,
) -> RunResult:
    check = MonitoringCheck()
    target = Target(service=service, url=url, check="monitoring", kind="monitoring")
    return await run_check(
        check, target, check.Options(**options), prober=prober, timeout=10.0, environ=environ
    )


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


async def test_a_scraped_alerted_routed_service_passes(stack: Stack, prober: HttpProber) -> None:
    result = await run(
        prober, "payments", stack.payments, prometheus_url=stack.prometheus,
        alertmanager_url=stack.alertmanager, red_metrics=True,
    )  # fmt: skip
    assert result.status == RunStatus.PASS, result.findings
    assert result.findings == []
    facts = result.facts
    assert facts["scrape"]["series"][0]["up_ratio"] == 1.0
    assert [r["name"] for r in facts["rules"]["covering"]] == ["PaymentsDown"]
    assert facts["alertmanager"]["routes"][0]["receivers"] == ["team-payments"]
    assert facts["red"]["rate"] == ["http_request_duration_seconds_count", "http_requests_total"]
    assert facts["red"]["errors"] == ["http_requests_total"]
    assert facts["red"]["duration"] == ["http_request_duration_seconds"]
    assert "job payments scraped" in result.summary


async def test_an_unscraped_unalerted_unrouted_service_fails_on_each(
    stack: Stack, prober: HttpProber
) -> None:
    result = await run(
        prober, "orders", stack.payments, prometheus_url=stack.prometheus,
        alertmanager_url=stack.alertmanager,
    )  # fmt: skip
    assert result.status == RunStatus.FAIL
    assert codes(result) == [
        "monitoring.no_alert_rule",
        "monitoring.no_route",
        "monitoring.not_scraped",
    ]
    by = {f.code: f.message for f in result.findings}
    assert 'up{job="orders"}' in by["monitoring.not_scraped"]
    assert "job_name: orders" in by["monitoring.not_scraped"]
    assert 'expr: up{job="orders"} == 0' in by["monitoring.no_alert_rule"]
    assert "null, which notifies no one" in by["monitoring.no_route"]


async def test_a_job_given_explicitly_and_a_named_rule(stack: Stack, prober: HttpProber) -> None:
    ok = await run(
        prober, "payments-api", stack.payments, prometheus_url=stack.prometheus,
        job="payments", alert_rules=["PaymentsDown"],
    )  # fmt: skip
    assert ok.status == RunStatus.PASS, ok.findings
    missing = await run(
        prober, "payments-api", stack.payments, prometheus_url=stack.prometheus,
        job="payments", alert_rules=["PaymentsLatencyHigh"],
    )  # fmt: skip
    assert codes(missing) == ["monitoring.no_alert_rule"]
    assert "PaymentsLatencyHigh not loaded" in missing.findings[0].message


async def test_failing_scrapes_name_prometheus_own_error(stack: Stack, prober: HttpProber) -> None:
    result = await run(prober, "ledger", stack.payments, prometheus_url=stack.prometheus)
    assert "monitoring.scrape_failing" in codes(result)
    message = next(f.message for f in result.findings if f.code == "monitoring.scrape_failing")
    assert "every scrape" in message
    assert "connection refused" in message


async def test_a_service_without_red_series_is_told_what_to_add(
    stack: Stack, prober: HttpProber
) -> None:
    result = await run(
        prober, "bare", stack.bare, prometheus_url=stack.prometheus, red_metrics=True,
        alert_rules=[], job="bare",
    )  # fmt: skip
    assert "monitoring.no_red_metrics" in codes(result)
    message = next(f.message for f in result.findings if f.code == "monitoring.no_red_metrics")
    assert "request rate, errors, duration" in message


async def test_an_unreachable_prometheus_is_an_error_not_a_verdict(prober: HttpProber) -> None:
    from tests.metrics.test_prometheus_integration import free_port

    result = await run(
        prober, "payments", "http://127.0.0.1:1", prometheus_url=f"http://127.0.0.1:{free_port()}"
    )
    assert result.status == RunStatus.ERROR
    assert codes(result) == ["monitoring.unreachable"]


async def test_the_address_policy_applies_to_prometheus_url(stack: Stack) -> None:
    strict = HttpProber(AddressPolicy(allow_private_networks=False))
    try:
        result = await run(strict, "payments", stack.payments, prometheus_url=stack.prometheus)
    finally:
        await strict.aclose()
    assert result.status == RunStatus.ERROR
    assert codes(result) == ["monitoring.blocked_by_policy"]


async def test_basic_auth_credentials_reach_prometheus_and_never_show(
    tmp_path: Any, stack: Stack, prober: HttpProber
) -> None:
    web = f"basic_auth_users:\n  {BASIC_USER}: {BASIC_HASH}\n"
    proc = start_prometheus(tmp_path, {"payments": stack.payments}, stack.alertmanager, web)
    base = (tmp_path / "url").read_text()
    try:
        wait_scraped(base, ["payments"], json.loads((tmp_path / "auth").read_text()))
        refused = await run(prober, "payments", stack.payments, prometheus_url=base)
        assert refused.status == RunStatus.ERROR
        assert codes(refused) == ["monitoring.unauthorized"]
        assert "password_env" in refused.findings[0].message
        unset = await run(
            prober, "payments", stack.payments, prometheus_url=base, username=BASIC_USER,
            password_env="PROM_PASSWORD",
        )  # fmt: skip
        assert unset.status == RunStatus.ERROR and "PROM_PASSWORD" in str(unset.error)
        ok = await run(
            prober, "payments", stack.payments, {"PROM_PASSWORD": BASIC_PASSWORD},
            prometheus_url=base, username=BASIC_USER, password_env="PROM_PASSWORD",
        )  # fmt: skip
        assert ok.status == RunStatus.PASS, ok.findings
        shown = json.dumps([ok.facts, ok.summary, refused.facts, str(refused.error)])
        assert BASIC_PASSWORD not in shown
    finally:
        if proc is not None:
            stop(proc)
