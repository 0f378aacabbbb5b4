"""redirect: a local HTTP server answering each scenario on its own path."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.probe.addresses import AddressPolicy
from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.redirect import RedirectCheck, RedirectOptions, http_url
from tests.checks.tls.servers import wsgi_server

pytestmark = pytest.mark.usefixtures("probe_engine")

SCENARIOS: dict[str, tuple[int, str | None]] = {
    "/good301": (301, "https://127.0.0.1/"),
    "/good308": (308, "https://127.0.0.1:8443/app"),
    "/temp302": (302, "https://127.0.0.1/"),
    "/temp307": (307, "https://127.0.0.1/"),
    "/none": (200, None),
    "/http": (301, "http://127.0.0.1/elsewhere"),
    "/relative": (301, "/login"),
    "/offhost": (301, "https://www.example.test/"),
    "/offhost_http_302": (302, "http://other.example.test/"),
    "/nolocation": (301, None),
}


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    status, location = SCENARIOS.get(environ["PATH_INFO"], (404, None))
    headers = [("Content-Type", "text/plain")]
    if location:
        headers.append(("Location", location))
    start_response(f"{status} X", headers)
    return [b"hello"]


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with wsgi_server(app) as p:
        yield p


async def probe(url: str, prober: HttpProber | None = None, **opts: Any) -> RunResult:
    prober = prober or HttpProber()
    try:
        return await run_check(
            RedirectCheck(),
            Target(service="svc", url=url, check="redirect", kind="redirect"),
            RedirectOptions(**opts),
            prober=prober,
            timeout=5,
        )
    finally:
        await prober.aclose()


def verdict(result: RunResult) -> tuple[str, list[str]]:
    return str(result.status), sorted(f.code for f in result.findings)


CASES = [
    ("/good301", "pass", []),
    ("/good308", "pass", []),
    ("/temp302", "warn", ["redirect.not_permanent"]),
    ("/temp307", "warn", ["redirect.not_permanent"]),
    ("/none", "fail", ["redirect.missing"]),
    ("/nolocation", "fail", ["redirect.missing"]),
    ("/missing-page", "fail", ["redirect.missing"]),
    ("/http", "fail", ["redirect.not_to_https"]),
    ("/relative", "fail", ["redirect.not_to_https"]),
    ("/offhost", "fail", ["redirect.off_host"]),
    (
        "/offhost_http_302",
        "fail",
        ["redirect.not_permanent", "redirect.not_to_https", "redirect.off_host"],
    ),
]


@pytest.mark.parametrize(("path", "status", "codes"), CASES, ids=[c[0] for c in CASES])
async def test_scenarios(port: int, path: str, status: str, codes: list[str]) -> None:
    result = await probe("https://127.0.0.1", path=path, http_port=port)
    assert verdict(result) == (status, codes), result.summary


async def test_facts(port: int) -> None:
    result = await probe("https://127.0.0.1/", path="/relative", http_port=port)
    facts = result.facts
    assert facts["url"] == f"http://127.0.0.1:{port}/relative"
    assert facts["status"] == 301
    assert facts["location"] == "/login"
    assert facts["target"] == f"http://127.0.0.1:{port}/login"


async def test_http_service_url_uses_its_port(port: int) -> None:
    result = await probe(f"http://127.0.0.1:{port}", path="/good301")
    assert verdict(result) == ("pass", [])


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return int(p)


async def test_no_http_listener_passes_unless_required() -> None:
    p = _closed_port()
    result = await probe("https://127.0.0.1", http_port=p)
    assert verdict(result) == ("pass", [])
    assert result.facts["http_available"] is False
    result = await probe("https://127.0.0.1", http_port=p, require_http=True)
    assert verdict(result) == ("fail", ["redirect.missing"])


async def test_policy_block_is_an_error(port: int) -> None:
    policy = AddressPolicy(deny_cidrs=(ipaddress.ip_network("127.0.0.0/8"),))
    result = await probe("https://127.0.0.1", HttpProber(policy), http_port=port)
    assert str(result.status) == "error"
    assert result.error_kind == "blocked_by_policy"


def test_http_url_building() -> None:
    assert http_url("https://svc.example.com:8443/x", "/", None) == (
        "http://svc.example.com/",
        "svc.example.com",
    )
    assert http_url("https://[::1]/", "a", 8080) == ("http://[::1]:8080/a", "::1")
    with pytest.raises(ValueError):
        RedirectOptions(bogus=1)  # type: ignore[call-arg]


def test_registered() -> None:
    from checks.registry import get_check

    assert isinstance(get_check("redirect"), RedirectCheck)
