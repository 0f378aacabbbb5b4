"""Expiry judged against each certificate's lifetime (issue #18): real chains served locally.

Short-lived certificates (Caddy's internal CA: 12-hour leaves under a 7-day intermediate;
ACME 6-day profiles) are renewed continuously, so a fixed "21 days left" would fail them
forever. Warn under 1/3 of the lifetime left, fail under 1/6, the fixed days as a cap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.tls import TlsCheck, TlsOptions
from tests.checks.tls import pki
from tests.checks.tls.servers import ThreadedServer, server_context, tls_server

HOUR = dt.timedelta(hours=1)
DAY = pki.DAY


class Chains:
    """A root in a CA file and one local TLS server per chain built by a test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.root = pki.make_ca("Lifetime Test Root")
        self.ca_file = directory / "root.pem"
        self.ca_file.write_bytes(self.root.pem)
        self.key = pki.rsa_key()
        self.servers: list[ThreadedServer] = []

    def intermediate(self, lifetime: dt.timedelta, left: dt.timedelta) -> pki.Authority:
        now = dt.datetime.now(dt.UTC)
        return pki.make_ca(
            "Lifetime Test Intermediate",
            issuer=self.root,
            not_before=now + left - lifetime,
            not_after=now + left,
        )

    def serve(self, inter: pki.Authority, lifetime: dt.timedelta, left: dt.timedelta) -> int:
        now = dt.datetime.now(dt.UTC)
        leaf = pki.make_leaf(inter, self.key, not_before=now + left - lifetime,
                             not_after=now + left)  # fmt: skip
        name = f"c{len(self.servers)}"
        served = pki.write_served(self.directory, name, leaf, self.key, inter.cert)
        server = tls_server(server_context(served.chain_file, served.key_file))
        self.servers.append(server)
        return server.port

    async def probe(self, port: int, **opts: Any) -> RunResult:
        prober = HttpProber()
        try:
            return await run_check(
                TlsCheck(),
                Target(service="svc", url=f"https://localhost:{port}/", check="tls", kind="tls"),
                TlsOptions(ca_file=str(self.ca_file), check_legacy=False, **opts),
                prober=prober,
                timeout=10,
            )
        finally:
            await prober.aclose()


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[Chains]:
    c = Chains(tmp_path)
    yield c
    for server in c.servers:
        server.close()


def verdict(result: RunResult) -> tuple[str, list[str]]:
    return str(result.status), sorted(f.code for f in result.findings)


async def test_caddy_style_12_hour_leaf_under_7_day_intermediate_passes(chains: Chains) -> None:
    """8 h left of a 12-hour leaf, 6 days left of a 7-day intermediate: freshly renewed."""
    inter = chains.intermediate(7 * DAY, 6 * DAY)
    result = await chains.probe(chains.serve(inter, 12 * HOUR, 8 * HOUR))
    assert verdict(result) == ("pass", []), result.summary
    assert result.facts["trust"]["status"] == "trusted"


async def test_caddy_style_leaf_past_renewal_warns_then_fails(chains: Chains) -> None:
    inter = chains.intermediate(7 * DAY, 6 * DAY)
    warn = await chains.probe(chains.serve(inter, 12 * HOUR, 3 * HOUR))  # under 4 h (1/3)
    assert verdict(warn) == ("warn", ["tls.expiring"]), warn.summary
    assert "3.0 hours" in warn.summary and "12.0 hours lifetime" in warn.summary
    fail = await chains.probe(chains.serve(inter, 12 * HOUR, HOUR))  # under 2 h (1/6)
    assert verdict(fail) == ("fail", ["tls.expiring"]), fail.summary


async def test_six_day_certificate_with_20_hours_left_fails(chains: Chains) -> None:
    """1/6 of 6 days is 24 h: 20 h left fails; 40 h left (under 48 h = 1/3) warns."""
    inter = chains.intermediate(365 * DAY, 300 * DAY)
    fail = await chains.probe(chains.serve(inter, 6 * DAY, 20 * HOUR))
    assert verdict(fail) == ("fail", ["tls.expiring"])
    assert "the leaf CN=localhost" in fail.summary and "20.0 hours" in fail.summary
    warn = await chains.probe(chains.serve(inter, 6 * DAY, 40 * HOUR))
    assert verdict(warn) == ("warn", ["tls.expiring"])
    ok = await chains.probe(chains.serve(inter, 6 * DAY, 4 * DAY))
    assert verdict(ok) == ("pass", [])


async def test_ninety_day_certificate_keeps_the_day_thresholds(chains: Chains) -> None:
    """A third of 90 days is 30: the fixed 21/7 days cap it, as before."""
    inter = chains.intermediate(365 * DAY, 300 * DAY)
    assert verdict(await chains.probe(chains.serve(inter, 90 * DAY, 25 * DAY))) == ("pass", [])
    warn = await chains.probe(chains.serve(inter, 90 * DAY, 20 * DAY))
    assert verdict(warn) == ("warn", ["tls.expiring"])
    assert "(warn under 21 days)" in warn.summary
    fail = await chains.probe(chains.serve(inter, 90 * DAY, 6 * DAY))
    assert verdict(fail) == ("fail", ["tls.expiring"])
    assert "(fail under 7 days)" in fail.summary


async def test_an_intermediate_expiring_soon_is_named(chains: Chains) -> None:
    inter = chains.intermediate(400 * DAY, 2 * DAY)
    result = await chains.probe(chains.serve(inter, 12 * HOUR, 8 * HOUR))
    assert verdict(result) == ("fail", ["tls.expiring"]), result.summary
    message = result.findings[0].message
    assert message.startswith("the intermediate CN=Lifetime Test Intermediate,O=Auditor Test ")
    assert message.endswith("hours (fail under 7 days)")


async def test_fractions_are_options(chains: Chains) -> None:
    inter = chains.intermediate(365 * DAY, 300 * DAY)
    port = chains.serve(inter, 6 * DAY, 40 * HOUR)
    assert verdict(await chains.probe(port, warn_fraction=0.25)) == ("pass", [])
    assert verdict(await chains.probe(port, fail_fraction=0.3)) == ("fail", ["tls.expiring"])
    with pytest.raises(ValueError, match="fail_fraction"):
        TlsOptions(warn_fraction=0.1, fail_fraction=0.2)
    with pytest.raises(ValueError):
        TlsOptions(warn_fraction=0)
