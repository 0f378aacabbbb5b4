"""Hostile targets: every probe ends within its timeout + 1 s, as ``error``/``fail`` with a
precise error kind, whatever the server does (issue 8, part 1)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.registry import get_check
from tests.hardening.hostile import Hostile, hostile_servers, refused_port

pytestmark = pytest.mark.usefixtures("probe_engine")

TIMEOUT = 1.0
SLACK = 1.0


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    with hostile_servers() as h:
        yield h


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.aclose()


async def probe(
    kind: str, url: str, prober: HttpProber, timeout: float = TIMEOUT, **options: Any
) -> tuple[RunResult, float]:
    check = get_check(kind)
    if kind in ("health", "headers") and "path" not in options:
        options["path"] = "/"
    opts = check.Options.model_validate(options)
    target = Target(service="svc", url=url, check=kind, kind=kind)
    t0 = time.monotonic()
    result = await run_check(check, target, opts, prober=prober, timeout=timeout)
    return result, time.monotonic() - t0


def codes(result: RunResult) -> list[str]:
    return [f.code for f in result.findings]


# mode -> (status, error_kind, health finding code)
HEALTH_EXPECTED: dict[str, tuple[RunStatus, str, str]] = {
    "drip": (RunStatus.ERROR, "timeout", "health.timeout"),
    "silent": (RunStatus.ERROR, "timeout", "health.timeout"),
    "huge": (RunStatus.FAIL, "body_too_large", "health.body_too_large"),
    "huge_chunked": (RunStatus.FAIL, "body_too_large", "health.body_too_large"),
    "bomb": (RunStatus.FAIL, "body_too_large", "health.body_too_large"),
    "garbage": (RunStatus.ERROR, "invalid_response", "health.invalid_response"),
    "reset": (RunStatus.ERROR, "reset", "health.unreachable"),
    "many_headers": (RunStatus.ERROR, "invalid_response", "health.invalid_response"),
    "loop": (RunStatus.FAIL, "too_many_redirects", "health.too_many_redirects"),
    "tls_stall": (RunStatus.ERROR, "timeout", "health.timeout"),
    "tls_half": (RunStatus.ERROR, "timeout", "health.timeout"),
}


@pytest.mark.parametrize("mode", sorted(HEALTH_EXPECTED))
async def test_health_ends_in_time_with_a_precise_error(
    hostile: Hostile, prober: HttpProber, mode: str
) -> None:
    status, kind, code = HEALTH_EXPECTED[mode]
    result, took = await probe("health", hostile.url(mode), prober)
    assert took <= TIMEOUT + SLACK, f"{mode}: took {took:.2f}s"
    assert (result.status, result.error_kind) == (status, kind), (mode, result.summary)
    assert codes(result) == [code], result.summary
    assert result.summary  # a human message, never empty


async def test_a_refused_port_is_refused_at_once(prober: HttpProber) -> None:
    result, took = await probe("health", f"http://127.0.0.1:{refused_port()}/", prober)
    assert took < 1.0
    assert (result.status, result.error_kind) == (RunStatus.ERROR, "refused")
    assert codes(result) == ["health.unreachable"]


async def test_an_unresolvable_host_is_a_dns_error(prober: HttpProber) -> None:
    # the network guard answers every non-local name with EAI_NONAME, as a resolver would
    result, took = await probe("health", "http://no-such-host.invalid/", prober)
    assert took < 1.0
    assert (result.status, result.error_kind) == (RunStatus.ERROR, "dns"), result.summary
    assert codes(result) == ["health.unreachable"]


@pytest.mark.parametrize("mode", ["tls_stall", "tls_half", "silent", "drip"])
async def test_tls_kind_ends_at_the_deadline_on_a_stalled_handshake(
    hostile: Hostile, prober: HttpProber, mode: str
) -> None:
    url = f"https://127.0.0.1:{hostile.ports[mode]}"
    result, took = await probe("tls", url, prober, check_legacy=False)
    assert took <= TIMEOUT + SLACK, f"{mode}: took {took:.2f}s"
    assert (result.status, result.error_kind) == (RunStatus.ERROR, "timeout"), result.summary
    assert codes(result) == ["tls.timeout"]


@pytest.mark.parametrize("mode", ["garbage", "reset", "many_headers"])
async def test_tls_kind_fails_fast_on_a_port_that_does_not_speak_tls(
    hostile: Hostile, prober: HttpProber, mode: str
) -> None:
    url = f"https://127.0.0.1:{hostile.ports[mode]}"
    result, took = await probe("tls", url, prober, check_legacy=False)
    assert took <= TIMEOUT + SLACK
    assert result.status in (RunStatus.FAIL, RunStatus.ERROR), result.summary
    assert result.error_kind in ("tls", "timeout"), result.summary


async def test_tls_kind_refused_and_unresolvable(prober: HttpProber) -> None:
    result, _ = await probe("tls", f"https://127.0.0.1:{refused_port()}", prober)
    assert (result.status, result.error_kind) == (RunStatus.ERROR, "refused")
    result, _ = await probe("tls", "https://no-such-host.invalid", prober)
    assert (result.status, result.error_kind) == (RunStatus.ERROR, "dns")


OTHER_KINDS = ["headers", "redirect", "exposure"]
HTTP_MODES = ["drip", "silent", "huge_chunked", "bomb", "garbage", "reset", "loop"]


@pytest.mark.parametrize("kind", OTHER_KINDS)
@pytest.mark.parametrize("mode", HTTP_MODES)
async def test_every_http_kind_ends_in_time(
    hostile: Hostile, prober: HttpProber, kind: str, mode: str
) -> None:
    result, took = await probe(kind, hostile.url(mode), prober)
    assert took <= TIMEOUT + SLACK, f"{kind}/{mode}: took {took:.2f}s"
    if kind == "exposure" and mode in ("bomb", "huge_chunked"):
        # exposure reads error pages truncated at the cap: a huge page is no exposure finding
        return
    assert result.status is not RunStatus.PASS, (kind, mode, result.summary)


def test_exposure_body_scan_is_linear() -> None:
    from checks.exposure.signatures import scan_body

    for unit in ("x", "\n", " \n", "a.rb"):
        t0 = time.perf_counter()
        scan_body(unit * (20_000 // len(unit)))
        small = time.perf_counter() - t0
        # 20 kB must take a few ms; the cap is 1 MB, so 50x more must stay well under a second
        assert small < 0.05, f"20 kB of {unit!r} scanned in {small:.2f}s"


async def test_a_slow_check_does_not_delay_a_fast_one(hostile: Hostile, prober: HttpProber) -> None:
    """Fifty dripping probes at once: a healthy probe beside them still answers at once."""
    import asyncio

    hostile.benign.clear()
    slow = [asyncio.create_task(probe("health", hostile.url("drip"), prober)) for _ in range(50)]
    await asyncio.sleep(0.2)
    with_ok = hostile_ok_url()
    with with_ok as url:
        result, took = await probe("health", url, prober)
    assert result.status is RunStatus.PASS and took < 0.5, (result.summary, took)
    done = await asyncio.gather(*slow)
    assert all(r.error_kind == "timeout" and t <= TIMEOUT + SLACK for r, t in done)


def hostile_ok_url() -> Any:
    from tests.support import json_route, local_server

    return local_server({"/": json_route(200, {"status": "ok"})})
