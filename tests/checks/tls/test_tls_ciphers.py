"""The cipher-suite scan and its Mozilla-profile grading (issue #18), on local servers
whose TLS 1.2 cipher list is chosen per test; the scan is cross-checked against real
OpenSSL handshakes."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.tls import TlsCheck, TlsOptions, cipherscan
from checks.tls.suites import GROUPS
from tests.checks.tls.conftest import Corpus
from tests.checks.tls.servers import ThreadedServer, tls_server


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    cipherscan.forget()
    yield
    cipherscan.forget()


class Servers:
    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.started: list[ThreadedServer] = []

    def start(
        self,
        ciphers: str | None = None,
        tls13: bool = True,
        tls12: bool = True,
    ) -> int:
        """A server with the corpus' good chain and ``ciphers`` (None: Python's default)."""
        served = self.corpus.cases["good"].served
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if ciphers is not None:
            ctx.set_ciphers(ciphers)
        if not tls12:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        if not tls13:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(str(served.chain_file), str(served.key_file))
        server = tls_server(ctx)
        self.started.append(server)
        return server.port

    async def probe(self, port: int, **opts: Any) -> RunResult:
        prober = HttpProber()
        try:
            return await run_check(
                TlsCheck(),
                Target(service="svc", url=f"https://localhost:{port}/", check="tls", kind="tls"),
                TlsOptions(ca_file=self.corpus.ca_file, **opts),
                prober=prober,
                timeout=10,
            )
        finally:
            await prober.aclose()


@pytest.fixture
def servers(corpus: Corpus) -> Iterator[Servers]:
    s = Servers(corpus)
    yield s
    for server in s.started:
        server.close()


def verdict(result: RunResult) -> tuple[str, list[str]]:
    return str(result.status), sorted(f.code for f in result.findings)


async def test_ecdhe_aead_only_meets_intermediate(servers: Servers) -> None:
    result = await servers.probe(servers.start("ECDHE-RSA-AES128-GCM-SHA256"))
    assert verdict(result) == ("pass", []), result.summary
    ciphers = result.facts["ciphers"]
    assert ciphers["tls12"] == ["ECDHE-RSA-AES128-GCM-SHA256"]
    assert (ciphers["tls13"], ciphers["profile"]) == (True, "intermediate")
    assert result.summary.endswith("(Mozilla profile: intermediate)")


async def test_tls13_only_meets_modern(servers: Servers) -> None:
    result = await servers.probe(servers.start(tls12=False))
    assert verdict(result) == ("pass", [])
    assert result.facts["ciphers"]["tls12"] == []
    assert result.facts["ciphers"]["profile"] == "modern"
    strict = await servers.probe(servers.start(tls12=False), cipher_profile="modern")
    assert verdict(strict) == ("pass", [])


async def test_static_rsa_cbc_sha1_has_no_forward_secrecy(servers: Servers) -> None:
    """AES128-SHA: RSA key exchange (no forward secrecy) and CBC with HMAC-SHA1."""
    result = await servers.probe(servers.start("AES128-SHA"))
    assert verdict(result) == ("warn", ["tls.no_forward_secrecy", "tls.weak_cipher"])
    assert result.facts["ciphers"]["profile"] == "old"
    messages = " / ".join(f.message for f in result.findings)
    assert "AES128-SHA" in messages and "static RSA key exchange" in messages
    assert result.summary.endswith("(Mozilla profile: old)")


async def test_tls12_only_static_rsa_lacks_forward_secrecy_entirely(servers: Servers) -> None:
    result = await servers.probe(servers.start("AES128-GCM-SHA256", tls13=False))
    assert verdict(result) == ("warn", ["tls.no_forward_secrecy"])
    finding = result.findings[0]
    assert finding.severity == "high" and "only offers static RSA" in finding.message


async def test_null_and_anonymous_suites_fail(servers: Servers) -> None:
    result = await servers.probe(servers.start("ALL:COMPLEMENTOFALL:@SECLEVEL=0", tls13=False))
    status, found = verdict(result)
    assert status == "fail"
    assert {"tls.weak_cipher", "tls.no_forward_secrecy", "tls.profile"} <= set(found)
    groups = result.facts["ciphers"]["groups"]
    assert groups["null"] and "NULL" in groups["null"]
    assert groups["anon"] and groups["anon"].startswith(("ADH-", "AECDH-"))
    broken = next(f for f in result.findings if f.severity == "high" and "broken" in f.message)
    assert "NULL (no encryption)" in broken.message and "anonymous" in broken.message
    assert result.facts["ciphers"]["profile"] == "none"


async def test_python_default_server_is_mozilla_old(servers: Servers) -> None:
    """Python's server default adds ECDHE/DHE CBC-SHA256/384: outside Mozilla intermediate."""
    result = await servers.probe(servers.start())
    assert verdict(result) == ("warn", ["tls.profile"])
    assert "meets the Mozilla old TLS profile, not intermediate" in result.summary
    assert "SHA384" in result.summary
    relaxed = await servers.probe(servers.start(), cipher_profile="old")
    assert verdict(relaxed) == ("pass", [])


async def test_modern_requirement_flags_tls12(servers: Servers) -> None:
    result = await servers.probe(
        servers.start("ECDHE-RSA-AES128-GCM-SHA256"), cipher_profile="modern"
    )
    assert verdict(result) == ("warn", ["tls.profile"])
    assert "TLS 1.2 is accepted" in result.summary


async def test_scan_is_cached_per_endpoint_and_can_be_off(servers: Servers) -> None:
    port = servers.start("AES128-SHA")
    first = await servers.probe(port)
    second = await servers.probe(port)
    assert (first.facts["ciphers"]["cached"], second.facts["ciphers"]["cached"]) == (False, True)
    assert verdict(second) == verdict(first)
    off = await servers.probe(port, check_ciphers=False)
    assert verdict(off) == ("pass", []) and off.facts["ciphers"] == {"tested": False}


def _openssl_accepts(port: int, suite: str) -> str | None:
    """The suite a real OpenSSL TLS 1.2 handshake offering only ``suite`` negotiates."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.set_ciphers(f"{suite}:@SECLEVEL=0")
    except ssl.SSLError:
        return None  # this OpenSSL cannot offer it (RC4, 3DES, EXPORT …)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                cipher = tls.cipher()
                return cipher[0] if cipher else None
    except (ssl.SSLError, OSError):
        return None


@pytest.mark.parametrize(
    "server_ciphers",
    ["ALL:COMPLEMENTOFALL:@SECLEVEL=0", "HIGH:!aNULL:!MD5", "ECDHE+AESGCM:AES256-SHA"],
)
async def test_scan_agrees_with_openssl_handshakes(servers: Servers, server_ciphers: str) -> None:
    """Every suite the scan saw accepted completes a real OpenSSL handshake, and in every
    group the scan saw refused no suite OpenSSL can offer completes one."""
    port = servers.start(server_ciphers, tls13=False)
    end = time.monotonic() + 10
    scan = await cipherscan.scan("127.0.0.1", port, "localhost", lambda: end - time.monotonic())
    assert scan["untested"] == []
    assert any(scan["groups"].values())
    for group, chosen in scan["groups"].items():
        if chosen is not None:
            assert _openssl_accepts(port, chosen) == chosen, (group, chosen)
        else:
            accepted = [n for _, n in GROUPS[group] if _openssl_accepts(port, n)]
            assert accepted == [], (group, accepted)
