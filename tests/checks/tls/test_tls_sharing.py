"""A health probe's verified handshake stands in for the tls check's own (auditor.probe.handshakes).

Real HTTPS servers on loopback count the TLS handshakes they complete, so "shared" is
observed from the server's side, not only from the facts.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.probe import handshakes, tls_context
from auditor.probe.handshakes import HandshakeLedger, trust_stamp
from auditor.probe.http import HttpProber
from auditor.probe.interface import Session, TlsObservation
from auditor.probe.tls_context import strict_trust
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.health import HealthCheck, HealthOptions
from checks.tls import TlsCheck, TlsOptions
from checks.tls.anchors import system_anchors
from checks.tls.check import host_port
from tests.checks.tls import pki
from tests.checks.tls.conftest import Corpus
from tests.checks.tls.servers import ThreadedServer, server_context

pytestmark = pytest.mark.usefixtures("probe_engine")


class CountingHttps:
    """HTTPS server answering every request with 200, counting completed handshakes."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.handshakes = 0

        def handle(conn: socket.socket) -> None:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                self.handshakes += 1
                with contextlib.suppress(OSError):
                    tls.recv(4096)
                    tls.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    )

        self.server = ThreadedServer(handle)
        self.port = self.server.port


@pytest.fixture
def https(corpus: Corpus) -> Iterator[CountingHttps]:
    served = corpus.cases["good"].served
    server = CountingHttps(server_context(served.chain_file, served.key_file))
    yield server
    server.server.close()


async def run(prober: HttpProber, kind: str, url: str, **opts: Any) -> RunResult:
    check = HealthCheck() if kind == "health" else TlsCheck()
    options = HealthOptions(path="/", **opts) if kind == "health" else TlsOptions(**opts)
    target = Target(service="svc", url=url, check=kind, kind=kind)
    return await run_check(check, target, options, prober=prober, timeout=10)


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


async def test_health_then_tls_share_one_handshake(corpus: Corpus, https: CountingHttps) -> None:
    url = f"https://localhost:{https.port}"
    prober = HttpProber()
    try:
        health = await run(prober, "health", url, ca_file=corpus.ca_file)
        tls = await run(prober, "tls", url, ca_file=corpus.ca_file)
    finally:
        await prober.aclose()
    assert str(health.status) == "pass"
    assert (str(tls.status), codes(tls)) == ("pass", [])
    assert tls.facts["handshake"]["shared"] is True
    assert 0 <= tls.facts["handshake"]["age_s"] < 5
    assert tls.facts["client_verify"]["ok"] is True
    assert [c["subject"] for c in tls.facts["chain"]] == [
        "CN=localhost,O=Auditor Leaf",
        "CN=Auditor Test Intermediate,O=Auditor Test",
    ]
    assert tls.facts["legacy_protocols"] == {"TLSv1": False, "TLSv1.1": False}
    assert https.handshakes == 1


async def test_concurrent_tls_awaits_the_handshake_in_flight(
    corpus: Corpus, https: CountingHttps
) -> None:
    """Started together (as in a pass), the tls check waits for health's handshake."""
    url = f"https://localhost:{https.port}"
    prober = HttpProber()
    try:
        health, tls = await asyncio.gather(
            run(prober, "health", url, ca_file=corpus.ca_file),
            run(prober, "tls", url, ca_file=corpus.ca_file),
        )
    finally:
        await prober.aclose()
    assert str(health.status) == "pass" and str(tls.status) == "pass"
    assert tls.facts["handshake"]["shared"] is True
    assert https.handshakes == 1


@pytest.mark.parametrize("where", ["prober", "option"])
async def test_sharing_off(corpus: Corpus, https: CountingHttps, where: str) -> None:
    url = f"https://localhost:{https.port}"
    prober = HttpProber(share_handshakes=where != "prober")
    extra = {"share_handshake": False} if where == "option" else {}
    try:
        await run(prober, "health", url, ca_file=corpus.ca_file)
        tls = await run(prober, "tls", url, ca_file=corpus.ca_file, **extra)
    finally:
        await prober.aclose()
    assert (str(tls.status), codes(tls)) == ("pass", [])
    assert tls.facts["handshake"]["shared"] is False
    assert https.handshakes == 2


async def test_other_trust_store_is_not_shared(corpus: Corpus, https: CountingHttps) -> None:
    """health trusts the private root; tls checks against the system store: its own verdict."""
    url = f"https://localhost:{https.port}"
    prober = HttpProber()
    try:
        await run(prober, "health", url, ca_file=corpus.ca_file)
        tls = await run(prober, "tls", url)
    finally:
        await prober.aclose()
    assert tls.facts["handshake"]["shared"] is False
    assert (str(tls.status), codes(tls)) == ("fail", ["tls.untrusted_root"])
    assert tls.facts["client_verify"]["ok"] is False


async def test_changed_ca_file_is_not_shared(
    corpus: Corpus, https: CountingHttps, tmp_path: Path
) -> None:
    ca = tmp_path / "root.pem"
    shutil.copy(corpus.ca_file, ca)
    url = f"https://localhost:{https.port}"
    prober = HttpProber()
    try:
        await run(prober, "health", url, ca_file=str(ca))
        ca.write_bytes(ca.read_bytes() + b"\n")  # same roots, another version of the file
        tls = await run(prober, "tls", url, ca_file=str(ca))
    finally:
        await prober.aclose()
    assert tls.facts["handshake"]["shared"] is False
    assert str(tls.status) == "pass"


async def test_unverified_probe_is_never_shared(corpus: Corpus, https: CountingHttps) -> None:
    """A health probe with verify=false must not vouch for the chain."""
    url = f"https://localhost:{https.port}"
    prober = HttpProber()
    try:
        await run(prober, "health", url, verify=False)
        tls = await run(prober, "tls", url)
    finally:
        await prober.aclose()
    assert tls.facts["handshake"]["shared"] is False
    assert codes(tls) == ["tls.untrusted_root"]


async def test_failed_verification_is_not_shared(corpus: Corpus) -> None:
    """health fails on an untrusted chain; tls still makes its own (diagnosing) handshakes."""
    url = f"https://localhost:{corpus.port('self_signed')}"
    prober = HttpProber()
    try:
        health, tls = await asyncio.gather(
            run(prober, "health", url, ca_file=corpus.ca_file),
            run(prober, "tls", url, ca_file=corpus.ca_file),
        )
    finally:
        await prober.aclose()
    assert str(health.status) == "error"
    assert tls.facts["handshake"]["shared"] is False
    assert codes(tls) == ["tls.self_signed"]


async def test_other_host_name_is_not_shared(corpus: Corpus, https: CountingHttps) -> None:
    prober = HttpProber()
    try:
        await run(prober, "health", f"https://127.0.0.1:{https.port}", ca_file=corpus.ca_file)
        tls = await run(prober, "tls", f"https://localhost:{https.port}", ca_file=corpus.ca_file)
    finally:
        await prober.aclose()
    assert tls.facts["handshake"]["shared"] is False


def observation(address: str = "127.0.0.1", seen_at: float | None = None) -> TlsObservation:
    trust = trust_stamp(None)
    return TlsObservation(
        host="svc.test",
        port=443,
        trust=trust,
        address=address,
        session=Session("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, (b"leaf",)),
        seen_at=time.monotonic() if seen_at is None else seen_at,
    )


async def test_ledger_checks_address_trust_and_age() -> None:
    ledger = HandshakeLedger(ttl_s=30.0)
    system = trust_stamp(None)
    ledger.record(observation("127.0.0.2"))
    assert await ledger.shared("svc.test", 443, system, ["127.0.0.1"], 1.0) is None
    assert await ledger.shared("svc.test", 443, system, ["127.0.0.2"], 1.0) is not None
    assert await ledger.shared("svc.test", 443, trust_stamp("/x.pem"), ["127.0.0.2"], 1) is None
    assert await ledger.shared("svc.test", 443, None, ["127.0.0.2"], 1.0) is None
    assert await ledger.shared("svc.test", 8443, system, ["127.0.0.2"], 1.0) is None
    ledger.record(observation("127.0.0.2", seen_at=time.monotonic() - 31))
    assert await ledger.shared("svc.test", 443, system, ["127.0.0.2"], 1.0) is None


async def test_ledger_is_bounded_and_waits_only_briefly() -> None:
    ledger = HandshakeLedger(max_entries=2)
    system = trust_stamp(None)
    for host in ("a", "b", "c"):
        ledger.record(dataclasses.replace(observation(), host=host))
    assert await ledger.shared("a", 443, system, ["127.0.0.1"], 1.0) is None
    assert await ledger.shared("c", 443, system, ["127.0.0.1"], 1.0) is not None
    assert system is not None
    fut = ledger.expect(("d", 443, system))
    started = time.monotonic()
    assert await ledger.shared("d", 443, system, ["127.0.0.1"], 0.2) is None
    assert time.monotonic() - started < 1.0
    ledger.release(("d", 443, system), fut)
    assert fut.done() and fut.result() is None


SHAREABLE = ["good", "ecdsa_p256", "expiring_3", "expiring_14", "long_validity", "tls10"]


@pytest.mark.parametrize("case", SHAREABLE)
async def test_shared_verdict_equals_own_handshake(corpus: Corpus, case: str) -> None:
    """Any chain a verified HTTP handshake accepted is judged exactly as with own handshakes."""
    url = f"https://localhost:{corpus.port(case)}"
    alone = HttpProber()
    try:
        own = await run(alone, "tls", url, ca_file=corpus.ca_file)
    finally:
        await alone.aclose()
    prober = HttpProber()
    try:
        await run(prober, "health", url, ca_file=corpus.ca_file)  # no HTTP there: TLS only
        shared = await run(prober, "tls", url, ca_file=corpus.ca_file)
    finally:
        await prober.aclose()
    assert own.facts["handshake"]["shared"] is False
    assert shared.facts["handshake"]["shared"] is True
    assert (str(shared.status), codes(shared)) == (str(own.status), codes(own))
    for key in ("protocol", "chain", "trust", "client_verify", "legacy_protocols", "address"):
        assert shared.facts[key] == own.facts[key], key


class KeepAliveHttps:
    """HTTPS with keep-alive: the first request on a connection answers at once, later ones
    after ``slow_s`` (a slow health endpoint on a pooled connection)."""

    def __init__(self, ctx: ssl.SSLContext, slow_s: float) -> None:
        self.handshakes = 0

        def handle(conn: socket.socket) -> None:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                self.handshakes += 1
                served, data = 0, b""
                while True:
                    while b"\r\n\r\n" not in data:
                        chunk = tls.recv(4096)
                        if not chunk:
                            return
                        data += chunk
                    data = data.split(b"\r\n\r\n", 1)[1]
                    if served:
                        time.sleep(slow_s)
                    served += 1
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

        self.server = ThreadedServer(handle)
        self.port = self.server.port


async def timed(coro: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = await coro
    return result, time.monotonic() - started


async def test_tls_does_not_wait_for_a_request_on_a_pooled_connection(
    corpus: Corpus, probe_engine: str
) -> None:
    """A health request riding a pooled connection makes no handshake: a tls check started
    meanwhile does its own at once instead of waiting out the slow response."""
    if probe_engine == "curl":
        pytest.skip("httpx's pooled connections: the libcurl engine connects afresh per hop")
    served = corpus.cases["good"].served
    server = KeepAliveHttps(server_context(served.chain_file, served.key_file), slow_s=2.0)
    url = f"https://localhost:{server.port}"
    prober = HttpProber()
    prober.handshakes.ttl_s = 0.2  # the first request's observation is stale, its connection not
    try:
        await prober.fetch(url + "/", ca_file=corpus.ca_file)
        await asyncio.sleep(0.4)
        health = asyncio.create_task(timed(run(prober, "health", url, ca_file=corpus.ca_file)))
        await asyncio.sleep(0.1)  # the health request is on the wire
        tls, tls_took = await timed(run(prober, "tls", url, ca_file=corpus.ca_file))
        (health_result, health_took) = await health
    finally:
        await prober.aclose()
        server.server.close()
    assert str(health_result.status) == "pass" and health_took >= 1.9
    assert (str(tls.status), codes(tls)) == ("pass", [])
    assert tls.facts["handshake"]["shared"] is False
    assert tls_took < 1.0
    assert server.handshakes == 2  # the first request's and the tls check's own


@pytest.fixture
def system_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A system CA bundle of the test's own (``SSL_CERT_FILE``), no context built from it yet."""
    bundle = tmp_path / "system.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setattr(tls_context, "_ssl_contexts", {})
    system_anchors.cache_clear()
    yield bundle
    system_anchors.cache_clear()


async def test_a_context_older_than_the_store_keeps_its_key(
    corpus: Corpus,
    https: CountingHttps,
    system_store: Path,
    monkeypatch: pytest.MonkeyPatch,
    probe_engine: str,
) -> None:
    """The system store drops a root while a cached context still trusts it: a client made
    from that context must not vouch for the chain to a tls check built on the new store."""
    system_store.write_bytes(corpus.root.pem)
    tls_context.build_ssl_context(True, None)  # cached: trusts the root for the next 300 s
    system_store.write_bytes(pki.make_ca("Some Other Root").pem)  # the root is distrusted
    url = f"https://localhost:{https.port}"
    prober = HttpProber()
    try:
        health = await run(prober, "health", url)  # a new client gets the cached context
        monkeypatch.setattr(tls_context, "SSL_CONTEXT_TTL_S", 0.0)  # ...which now expires
        tls = await run(prober, "tls", url)
    finally:
        await prober.aclose()
    # httpx verifies with the cached context (the old store); libcurl loads the store anew
    # for a new multi handle, so it already distrusts the root: neither vouches for tls
    assert str(health.status) == ("pass" if probe_engine == "httpx" else "error")
    assert tls.facts["handshake"]["shared"] is False
    assert tls.facts["client_verify"]["ok"] is False
    assert str(tls.status) == "fail"


async def test_system_store_key_follows_ssl_cert_file(
    corpus: Corpus, https: CountingHttps, system_store: Path
) -> None:
    """The system store is the one OpenSSL loads (``SSL_CERT_FILE``): a probe and a tls check
    on it share a handshake, and the key names that file."""
    system_store.write_bytes(corpus.root.pem)
    url = f"https://localhost:{https.port}"
    prober = HttpProber()
    try:
        await run(prober, "health", url)
        tls = await run(prober, "tls", url)
    finally:
        await prober.aclose()
    assert (str(tls.status), codes(tls)) == ("pass", [])
    assert tls.facts["handshake"]["shared"] is True
    assert https.handshakes == 1
    trust = tls_context.ssl_context_and_trust(True, None)[1]
    assert trust is not None and trust[:2] == ("system", str(system_store))


IDN_HOST = "bücher.test"


@pytest.fixture
def idn_https(corpus: Corpus, tmp_path: Path) -> Iterator[CountingHttps]:
    """An HTTPS server whose certificate names ``bücher.test`` (as SANs do: punycode)."""
    key = pki.rsa_key()
    leaf = pki.make_leaf(corpus.intermediate, key, dns=("xn--bcher-kva.test",), cn=None)
    served = pki.write_served(tmp_path, "idn", leaf, key, corpus.intermediate.cert)
    server = CountingHttps(server_context(served.chain_file, served.key_file))
    yield server
    server.server.close()


async def resolve_to_loopback(host: str, port: int) -> list[str]:
    """The prober's resolver seam: every name (``bücher.test`` here) is this machine."""
    return ["127.0.0.1"]


async def test_idn_host_handshake_is_shared(corpus: Corpus, idn_https: CountingHttps) -> None:
    """httpx connects to the punycode name; the tls check asks under the URL's Unicode one
    (``host_port``): the same host, so the same observation."""
    url = f"https://{IDN_HOST}:{idn_https.port}/"
    host, port = host_port(url, None)
    assert host == IDN_HOST
    trust = strict_trust(corpus.ca_file)
    prober = HttpProber(resolver=resolve_to_loopback)
    try:
        assert (await prober.fetch(url, ca_file=corpus.ca_file)).status == 200
        seen = await prober.handshakes.shared(host, port, trust, ["127.0.0.1"], 1.0)
    finally:
        await prober.aclose()
    assert seen is not None and seen.host == "xn--bcher-kva.test"
    assert idn_https.handshakes == 1


async def test_idn_host_handshake_in_flight_is_awaited(
    corpus: Corpus, idn_https: CountingHttps
) -> None:
    url = f"https://{IDN_HOST}:{idn_https.port}/"
    host, port = host_port(url, None)
    trust = strict_trust(corpus.ca_file)
    prober = HttpProber(resolver=resolve_to_loopback)
    try:
        fetch = asyncio.create_task(prober.fetch(url, ca_file=corpus.ca_file))
        await asyncio.sleep(0)  # the request announced its handshake
        seen = await prober.handshakes.shared(host, port, trust, ["127.0.0.1"], 5.0)
        assert (await fetch).status == 200
    finally:
        await prober.aclose()
    assert seen is not None and seen.address == "127.0.0.1"


async def test_unreadable_session_facts_neither_fail_the_request_nor_hold_tls(
    corpus: Corpus, https: CountingHttps, monkeypatch: pytest.MonkeyPatch, probe_engine: str
) -> None:
    """Reading the chain back after a verified handshake fails: the request itself goes on,
    nothing is recorded, and a tls check waiting for it does its own handshake at once."""
    if probe_engine == "curl":
        pytest.skip("the libcurl engine reads the chain from the handshake, not ssl objects")

    def unreadable(ssl_object: Any) -> list[bytes]:
        raise ValueError("cannot read the chain back")

    url = f"https://localhost:{https.port}"
    prober = HttpProber()
    try:
        with monkeypatch.context() as patch:
            patch.setattr(handshakes, "chain_der", unreadable)
            patch.setattr(tls_context, "chain_der", unreadable, raising=False)
            fetch = asyncio.create_task(prober.fetch(url + "/", ca_file=corpus.ca_file))
            await asyncio.sleep(0)  # the request announced its handshake
            trust = strict_trust(corpus.ca_file)
            tls, tls_took = await timed(
                prober.handshakes.shared("localhost", https.port, trust, ["127.0.0.1"], 5)
            )
            health = await fetch
    finally:
        await prober.aclose()
    assert health.status == 200
    assert tls is None and tls_took < 1.0
