"""The address policy on the wire (DESIGN §8, issue 8 part 2): enforced on the address actually
connected — after DNS, on every redirect hop, for every outbound check kind and for alert
webhooks — and refused *before* any socket opens.

No packet leaves loopback: names resolve through the network guard's fake zone (or the
prober's ``resolver`` seam), and the guard records any connect to a non-loopback address,
which every test asserts never happened.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from auditor.probe.addresses import AddressPolicy
from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import ProbeError, RunStatus, Target
from checks.registry import get_check
from tests.support import json_route, local_server

pytestmark = pytest.mark.usefixtures("probe_engine")

METADATA_V4 = "169.254.169.254"

# every spelling of the metadata address that a URL can carry
SPELLINGS = {
    "dotted": "169.254.169.254",
    "decimal": "2852039166",
    "hex": "0xA9FEA9FE",
    "dotted-hex": "0xa9.0xfe.0xa9.0xfe",
    "short-form": "169.254.43518",
    "v4-mapped": "[::ffff:169.254.169.254]",
    "v4-mapped-hex": "[::ffff:a9fe:a9fe]",
    "nat64": "[64:ff9b::a9fe:a9fe]",
    "6to4": "[2002:a9fe:a9fe::1]",
    "teredo": "[2001:0:4136:e378:8000:63bf:5601:5601]",  # client 169.254.169.254 (obfuscated)
    "v4-compatible": "[::a9fe:a9fe]",
    "aws-v6": "[fd00:ec2::254]",
    "link-local-v6": "[fe80::1]",
    "link-local-v4": "169.254.10.20",
}
#: octal: httpx refuses to parse it at all, which is also a refusal before any lookup
OCTAL = "0251.0376.0251.0376"

HTTP_KINDS = ["health", "headers", "redirect", "exposure", "api"]


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.aclose()


async def run(kind: str, url: str, prober: HttpProber, **options: Any) -> RunResult:
    check = get_check(kind)
    opts = check.Options.model_validate(options)
    target = Target(service="svc", url=url, check=kind, kind=kind)
    return await run_check(check, target, opts, prober=prober, timeout=3.0)


def blocked(result: RunResult, kind: str) -> None:
    assert result.status is RunStatus.ERROR, result.summary
    assert result.error_kind == "blocked_by_policy", result.summary
    assert [f.code for f in result.findings] == [f"{kind}.blocked_by_policy"], result.findings
    assert "address policy" in result.summary


@pytest.fixture
def no_egress(network_guard: Any) -> Iterator[Any]:
    yield network_guard
    assert network_guard.refused_connects == [], "a probe tried to connect past the policy"


def test_the_teredo_fixture_really_hides_the_metadata_address() -> None:
    addr = ipaddress.IPv6Address(SPELLINGS["teredo"].strip("[]"))
    assert addr.teredo is not None and str(addr.teredo[1]) == METADATA_V4


# -- every spelling, every HTTP kind --------------------------------------------------------


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
async def test_metadata_and_link_local_are_refused_in_every_spelling(
    prober: HttpProber, no_egress: Any, spelling: str
) -> None:
    result = await run("health", f"http://{SPELLINGS[spelling]}/latest/meta-data/", prober)
    blocked(result, "health")


async def test_octal_spelling_never_gets_as_far_as_a_lookup(
    prober: HttpProber, no_egress: Any
) -> None:
    result = await run("health", f"http://{OCTAL}/latest/meta-data/", prober)
    assert (result.status, result.error_kind) == (RunStatus.ERROR, "config"), result.summary
    assert OCTAL not in no_egress.lookups
    # the same spelling in a hostile Location header: the target's bad answer, not a crash
    with local_server({"/health": redirect_to(f"http://{OCTAL}/latest/")}) as base:
        hop = await run("health", base, prober)
    assert (hop.status, hop.error_kind) == (RunStatus.ERROR, "invalid_response"), hop.summary


@pytest.mark.parametrize("kind", HTTP_KINDS)
async def test_every_http_kind_shows_its_blocked_by_policy_finding(
    prober: HttpProber, no_egress: Any, kind: str
) -> None:
    no_egress.dns["metadata.evil.test"] = [METADATA_V4]
    result = await run(kind, "http://metadata.evil.test/", prober)
    if kind == "exposure":
        # exposure records blocked probes as facts; the run is still an error of that kind
        assert result.status is RunStatus.ERROR, result.summary
        assert result.error_kind == "blocked_by_policy" or "policy" in result.summary
        return
    blocked(result, kind)


@pytest.mark.parametrize(
    "host", ["metadata.evil.test", "2852039166", METADATA_V4, "[fd00:ec2::254]"]
)
async def test_tls_kind_refuses_before_the_handshake(
    prober: HttpProber, no_egress: Any, host: str
) -> None:
    no_egress.dns["metadata.evil.test"] = [METADATA_V4]
    result = await run("tls", f"https://{host}", prober)
    blocked(result, "tls")


async def test_a_name_resolving_to_metadata_among_good_addresses_only_uses_the_good_ones(
    prober: HttpProber, no_egress: Any
) -> None:
    with local_server({"/health": json_route(200, {"status": "ok"})}) as base:
        port = base.rsplit(":", 1)[1]
        no_egress.dns["mixed.test"] = [METADATA_V4, "127.0.0.1"]
        result = await run("health", f"http://mixed.test:{port}/", prober, path="/health")
    assert result.status is RunStatus.PASS, result.summary


# -- redirects ------------------------------------------------------------------------------


def redirect_to(location: str) -> Any:
    def handler(req: BaseHTTPRequestHandler) -> None:
        req.send_response(302)
        req.send_header("Location", location)
        req.send_header("Content-Length", "0")
        req.end_headers()

    return handler


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://2852039166/latest/",
        "http://[::ffff:a9fe:a9fe]/latest/",
        "http://metadata.evil.test/latest/",
        "https://metadata.evil.test/latest/",
    ],
)
@pytest.mark.parametrize("kind", ["health"])
async def test_every_redirect_hop_is_checked(
    prober: HttpProber, no_egress: Any, location: str, kind: str
) -> None:
    no_egress.dns["metadata.evil.test"] = [METADATA_V4]
    with local_server({"/": redirect_to(location), "/health": redirect_to(location)}) as base:
        result = await run(kind, base, prober)
    blocked(result, kind)


# -- private ranges and CIDR lists ------------------------------------------------------------


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.10", "100.64.0.1", "fd12::1"])
async def test_private_ranges_follow_allow_private_networks(no_egress: Any, address: str) -> None:
    no_egress.dns["internal.test"] = [address]
    strict = HttpProber(AddressPolicy(allow_private_networks=False))
    try:
        result = await run("health", "http://internal.test/", strict)
    finally:
        await strict.aclose()
    blocked(result, "health")
    assert "allow_private_networks" in result.summary


async def test_loopback_follows_allow_private_networks_too(no_egress: Any) -> None:
    with local_server({"/health": json_route(200, {"status": "ok"})}) as base:
        strict = HttpProber(AddressPolicy(allow_private_networks=False))
        try:
            result = await run("health", base, strict)
        finally:
            await strict.aclose()
    blocked(result, "health")


def _nets(*cidrs: str) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


async def test_an_explicit_allow_cidr_opens_one_range_only(no_egress: Any) -> None:
    policy = AddressPolicy(allow_private_networks=False, allow_cidrs=_nets("127.0.0.0/8"))
    p = HttpProber(policy)
    try:
        with local_server({"/health": json_route(200, {"status": "ok"})}) as base:
            assert (await run("health", base, p)).status is RunStatus.PASS
        no_egress.dns["other.test"] = ["10.0.0.1"]
        blocked(await run("health", "http://other.test/", p), "health")
        no_egress.dns["md.test"] = [METADATA_V4]
        blocked(await run("health", "http://md.test/", p), "health")
    finally:
        await p.aclose()


async def test_an_explicit_allow_cidr_can_open_metadata_deliberately(no_egress: Any) -> None:
    policy = AddressPolicy(allow_cidrs=_nets("169.254.169.254/32"))
    assert policy.verdict(METADATA_V4) is None
    assert policy.verdict("::ffff:169.254.169.254") is None
    assert policy.verdict("169.254.1.1") is not None  # the rest of link-local stays shut


async def test_an_explicit_deny_cidr_wins_over_everything(no_egress: Any) -> None:
    policy = AddressPolicy(deny_cidrs=_nets("127.0.0.0/8"), allow_cidrs=_nets("127.0.0.1/32"))
    p = HttpProber(policy)
    try:
        with local_server({"/health": json_route(200, {"status": "ok"})}) as base:
            result = await run("health", base, p)
            mapped = await run("health", base.replace("127.0.0.1", "[::ffff:127.0.0.1]"), p)
    finally:
        await p.aclose()
    blocked(result, "health")
    assert "denied range" in result.summary
    blocked(mapped, "health")


def test_config_builds_the_policy_from_the_three_keys() -> None:
    from auditor.config import parse_config

    cfg = parse_config(
        {
            "auditor": {
                "allow_private_networks": False,
                "allow_cidrs": ["10.1.0.0/16"],
                "deny_cidrs": ["10.1.2.0/24"],
            }
        },
        environ={},
    )
    policy = cfg.auditor.address_policy()
    assert policy.verdict("10.1.9.9") is None
    assert policy.verdict("10.1.2.3") is not None
    assert policy.verdict("10.2.0.1") is not None
    assert policy.verdict(METADATA_V4) is not None


# -- DNS rebinding --------------------------------------------------------------------------


def rebinding(*answers: list[str]) -> Any:
    """A resolver stub that gives the next answer on each query (the last one sticks)."""
    queries: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        queries.append(host)
        return answers[min(len(queries), len(answers)) - 1]

    resolve.queries = queries  # type: ignore[attr-defined]
    return resolve


def closing_redirect(location: str) -> Any:
    def handler(req: BaseHTTPRequestHandler) -> None:
        req.send_response(302)
        req.send_header("Location", location)
        req.send_header("Content-Length", "0")
        req.send_header("Connection", "close")  # the next hop must connect (and resolve) again
        req.end_headers()
        req.close_connection = True

    return handler


@pytest.mark.parametrize("second", [METADATA_V4, "::ffff:169.254.169.254", "fd00:ec2::254"])
async def test_dns_rebinding_between_hops_is_caught(no_egress: Any, second: str) -> None:
    with local_server({"/health": closing_redirect("/next")}) as base:
        port = base.rsplit(":", 1)[1]
        resolver = rebinding(["127.0.0.1"], [second])
        p = HttpProber(resolver=resolver)
        try:
            result = await run("health", f"http://rebind.test:{port}/", p, path="/health")
        finally:
            await p.aclose()
    assert resolver.queries == ["rebind.test", "rebind.test"]
    blocked(result, "health")


async def test_dns_rebinding_between_runs_is_caught(no_egress: Any) -> None:
    """First run resolves to an allowed address and passes; the next answer is metadata."""
    with local_server({"/health": json_route(200, {"status": "ok"})}) as base:
        port = base.rsplit(":", 1)[1]
        resolver = rebinding(["127.0.0.1"], [METADATA_V4])
        p = HttpProber(resolver=resolver)
        try:
            first = await run("health", f"http://rebind.test:{port}/", p, path="/health")
            await p.aclose()  # no pooled connection: every run connects afresh
            second = await run("health", f"http://rebind.test:{port}/", p, path="/health")
        finally:
            await p.aclose()
    assert first.status is RunStatus.PASS, first.summary
    blocked(second, "health")


async def test_a_resolver_that_answers_private_after_allowed_is_caught_when_strict(
    no_egress: Any,
) -> None:
    with local_server({"/health": closing_redirect("/next")}) as base:
        port = base.rsplit(":", 1)[1]
        resolver = rebinding(["127.0.0.1"], ["10.0.0.7"])
        policy = AddressPolicy(allow_private_networks=False, allow_cidrs=_nets("127.0.0.1/32"))
        p = HttpProber(policy, resolver=resolver)
        try:
            result = await run("health", f"http://rebind.test:{port}/", p, path="/health")
        finally:
            await p.aclose()
    blocked(result, "health")
    assert "10.0.0.7" in result.summary


# -- alert webhooks -------------------------------------------------------------------------


PAYLOAD = {
    "schema": "auditor.alert/v1",
    "id": "t1",
    "status": "firing",
    "service": "s",
    "check": "c",
    "kind": "health",
    "state": "fail",
    "previous_state": "pass",
    "findings": [],
    "at": "2026-11-27T00:00:00Z",
    "url": "http://127.0.0.1/",
}


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://metadata.evil.test/hook",
        "http://2852039166/hook",
    ],
)
async def test_alert_webhooks_go_through_the_policy(no_egress: Any, url: str) -> None:
    from auditor.alerting.base import DeliveryError
    from auditor.alerting.webhook import WebhookReceiver
    from auditor.config import ReceiverModel

    no_egress.dns["metadata.evil.test"] = [METADATA_V4]
    p = HttpProber()
    try:
        receiver = WebhookReceiver(
            ReceiverModel(name="ops", type="webhook", unsigned=True, url=url), p
        )
        with pytest.raises(DeliveryError) as info:
            await receiver.send(PAYLOAD)
    finally:
        await p.aclose()
    assert str(info.value).startswith("blocked_by_policy"), info.value
    assert info.value.permanent


async def test_a_webhook_redirect_is_not_followed_into_metadata(no_egress: Any) -> None:
    from auditor.alerting.base import DeliveryError
    from auditor.alerting.http import post

    with local_server({"/hook": redirect_to("http://169.254.169.254/")}) as base:
        p = HttpProber()
        try:
            with pytest.raises(DeliveryError):
                await post(p, base + "/hook", b"{}", {}, 2.0, [])
        finally:
            await p.aclose()


async def test_the_daemon_and_dispatcher_build_their_prober_from_the_configured_policy() -> None:
    import inspect

    from auditor.process import daemon

    source = inspect.getsource(daemon)
    assert "address_policy()" in source
    assert "new_prober(" in source and "probe_engine" in source


async def test_policy_refusal_raises_before_any_connect(
    monkeypatch: pytest.MonkeyPatch, no_egress: Any
) -> None:
    """The backend never reaches its inner connect for a refused address."""
    from httpcore._backends.auto import AutoBackend

    calls: list[str] = []

    async def spy(self: Any, host: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(host)
        raise AssertionError("connect_tcp reached")

    monkeypatch.setattr(AutoBackend, "connect_tcp", spy)
    p = HttpProber()
    try:
        with pytest.raises(ProbeError) as info:
            await p.fetch("http://[::ffff:a9fe:a9fe]/", timeout=2.0)
    finally:
        await p.aclose()
    assert info.value.error_kind == "blocked_by_policy"
    assert calls == []
