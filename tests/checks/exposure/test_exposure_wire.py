"""exposure end to end against the fixture apps on 127.0.0.1."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.probe.addresses import AddressPolicy
from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.exposure import ExposureCheck, ExposureOptions
from tests.checks.exposure import apps
from tests.checks.tls.servers import wsgi_server

pytestmark = pytest.mark.usefixtures("probe_engine")


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    with (
        wsgi_server(apps.debug_app()) as debug,
        wsgi_server(apps.traceback_app(), banner="app") as tb,
        wsgi_server(apps.clean_app(), banner="app") as clean,
    ):
        yield {"debug": debug, "traceback": tb, "clean": clean}


async def probe(
    port: int, *, public: bool = False, prober: HttpProber | None = None, **opts: Any
) -> RunResult:
    prober = prober or HttpProber()
    target = Target(
        service="svc",
        url=f"http://127.0.0.1:{port}",
        check="exposure",
        kind="exposure",
        public=public,
    )
    try:
        return await run_check(
            ExposureCheck(), target, ExposureOptions(**opts), prober=prober, timeout=10
        )
    finally:
        await prober.aclose()


def verdict(result: RunResult) -> tuple[str, list[str]]:
    return str(result.status), sorted(f.code for f in result.findings)


async def test_clean_app_passes(ports: dict[str, int]) -> None:
    result = await probe(ports["clean"])
    assert verdict(result) == ("pass", []), result.summary
    assert [p["status"] for p in result.facts["probes"]] == [404, 400, 400]


async def test_flask_debug_mode(ports: dict[str, int]) -> None:
    result = await probe(ports["debug"])
    assert verdict(result) == ("fail", ["exposure.debug_page", "exposure.server_version"])
    probes = {p["name"]: p for p in result.facts["probes"]}
    assert probes["malformed_json"]["signatures"] == [
        {"code": "debug_page", "name": "Werkzeug debugger"}
    ]
    assert probes["malformed_query"]["status"] == 500
    assert probes["not_found"]["signatures"] == []
    assert result.facts["banners"][0]["header"] == "server"
    assert result.facts["banners"][0]["value"].startswith("Werkzeug/")


async def test_traceback_in_error_response(ports: dict[str, int]) -> None:
    result = await probe(ports["traceback"])
    assert verdict(result) == ("fail", ["exposure.stack_trace"])
    assert "Python traceback" in result.findings[0].message


async def test_facts_never_hold_bodies(ports: dict[str, int]) -> None:
    result = await probe(ports["traceback"])
    assert "Traceback" not in repr(result.facts)


async def test_public_service_with_open_metrics(ports: dict[str, int]) -> None:
    result = await probe(ports["traceback"], public=True)
    assert verdict(result) == ("fail", ["exposure.metrics_public", "exposure.stack_trace"])
    assert result.facts["metrics_public"]["samples"] == 2


async def test_public_service_with_protected_metrics(ports: dict[str, int]) -> None:
    result = await probe(
        ports["clean"],
        public=True,
        metrics_path="/metrics",
        headers={"Authorization": apps.TOKEN},
    )
    assert verdict(result) == ("pass", [])
    assert result.facts["metrics_public"]["status"] == 401
    assert result.facts["metrics"]["valid"] is True


async def test_open_metrics_on_internal_service_is_fine(ports: dict[str, int]) -> None:
    result = await probe(ports["traceback"], metrics_path="/metrics")
    assert verdict(result) == ("fail", ["exposure.stack_trace"])
    assert result.facts["metrics_public"] is None


@pytest.mark.parametrize(
    ("opts", "reason"),
    [
        ({"metrics_path": "/metrics"}, "401"),
        ({"metrics_path": "/nope", "headers": {"Authorization": apps.TOKEN}}, "404"),
        ({"metrics_path": "/?limit=1"}, "not a metric sample"),
    ],
)
async def test_metrics_missing(ports: dict[str, int], opts: dict[str, Any], reason: str) -> None:
    result = await probe(ports["clean"], **opts)
    assert verdict(result) == ("fail", ["exposure.metrics_missing"])
    assert reason in result.findings[0].message


async def test_rate_limit_burst(ports: dict[str, int]) -> None:
    # off by default: no request burst, no finding
    assert (await probe(ports["traceback"])).facts["rate_limit"] is None
    result = await probe(ports["traceback"], rate_limit_burst=12, rate_limit_path="/metrics")
    assert verdict(result) == ("fail", ["exposure.no_rate_limit", "exposure.stack_trace"])
    assert result.facts["rate_limit"]["sent"] == 12
    # headers advertise a limit
    result = await probe(ports["clean"], rate_limit_burst=20)
    assert verdict(result) == ("pass", [])
    assert result.facts["rate_limit"]["headers"] == ["ratelimit-limit", "ratelimit-remaining"]
    assert result.facts["rate_limit"]["sent"] == 1  # the unhurried first request showed it
    assert result.facts["rate_limit"]["signals"] == ["ratelimit_headers"]
    # a bare 429 counts too
    result = await probe(ports["clean"], rate_limit_burst=50, rate_limit_path="/throttled")
    assert verdict(result) == ("pass", [])
    assert result.facts["rate_limit"]["statuses"]["429"] >= 1
    assert result.facts["rate_limit"]["signals"] == ["status_429"]
    assert "rate limited (status 429)" in result.summary


def test_burst_is_bounded() -> None:
    with pytest.raises(ValueError):
        ExposureOptions(rate_limit_burst=51)
    with pytest.raises(ValueError):
        ExposureOptions(unknown=True)  # type: ignore[call-arg]


async def test_policy_block_is_an_error(ports: dict[str, int]) -> None:
    policy = AddressPolicy(deny_cidrs=(ipaddress.ip_network("127.0.0.0/8"),))
    result = await probe(ports["clean"], prober=HttpProber(policy))
    assert str(result.status) == "error"
    assert result.error_kind == "blocked_by_policy"


def test_registered() -> None:
    from checks.registry import get_check

    assert isinstance(get_check("exposure"), ExposureCheck)
