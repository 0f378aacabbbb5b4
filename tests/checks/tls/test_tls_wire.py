"""End to end: each badssl-style case served locally, probed through the runner."""

from __future__ import annotations

import ipaddress
import os
import time
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.addresses import AddressPolicy
from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.tls import TlsCheck, TlsOptions
from checks.tls.handshake import verified_handshake
from tests.checks.tls import pki
from tests.checks.tls.conftest import Corpus
from tests.checks.tls.servers import (
    ThreadedServer,
    server_context,
    static_http_handler,
    tls_handler,
)

pytestmark = pytest.mark.usefixtures("probe_engine")

CHECK = TlsCheck()


async def probe(
    corpus: Corpus,
    case: str,
    host: str = "localhost",
    prober: HttpProber | None = None,
    **opts: Any,
) -> RunResult:
    prober = prober or HttpProber()
    url = f"https://{host}:{corpus.port(case)}/"
    options = TlsOptions(**{"ca_file": corpus.ca_file, **opts})
    try:
        return await run_check(
            CHECK,
            Target(service="svc", url=url, check="tls", kind="tls"),
            options,
            prober=prober,
            timeout=10,
        )
    finally:
        await prober.aclose()


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


CASES = [
    ("good", "pass", []),
    ("ecdsa_p256", "pass", []),
    ("expired", "fail", ["tls.expired"]),
    ("not_yet_valid", "fail", ["tls.not_yet_valid"]),
    ("expiring_3", "fail", ["tls.expiring"]),
    ("expiring_14", "warn", ["tls.expiring"]),
    ("long_validity", "warn", ["tls.validity_too_long"]),
    ("wrong_host", "fail", ["tls.hostname_mismatch"]),
    ("no_san", "fail", ["tls.hostname_mismatch"]),
    ("self_signed", "fail", ["tls.self_signed"]),
    ("untrusted_root", "fail", ["tls.untrusted_root"]),
    ("unknown_issuer", "fail", ["tls.untrusted_root"]),
    ("incomplete_chain", "fail", ["tls.incomplete_chain"]),
    ("incomplete_no_aia", "fail", ["tls.incomplete_chain"]),
    ("rsa1024", "fail", ["tls.weak_key"]),
    ("sha1", "fail", ["tls.weak_signature"]),
    ("tls10", "fail", ["tls.legacy_protocol", "tls.weak_cipher"]),
    ("plain_http", "fail", ["tls.handshake_failed"]),
]


@pytest.mark.parametrize(("case", "status", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_case_verdict(corpus: Corpus, case: str, status: str, expected: list[str]) -> None:
    if case == "sha1" and case not in corpus.cases:
        pytest.skip("the openssl CLI could not sign a SHA-1 certificate on this machine")
    if case == "tls10" and not corpus.legacy_tls_works():
        pytest.skip("this OpenSSL cannot do TLS 1.0 even with @SECLEVEL=0 and min TLSv1")
    result = await probe(corpus, case)
    assert (str(result.status), codes(result)) == (status, expected), result.summary


async def test_healthy_chain_facts(corpus: Corpus) -> None:
    result = await probe(corpus, "good")
    facts = result.facts
    assert result.findings == []
    assert facts["protocol"] == "TLSv1.3"
    assert facts["cipher"]
    assert facts["sans"] == ["localhost", "127.0.0.1"]
    assert facts["key_type"] == "RSA" and facts["key_size"] == 2048
    assert facts["signature_algorithm"] == "sha256WithRSAEncryption"
    assert [c["subject"] for c in facts["chain"]] == [
        "CN=localhost,O=Auditor Leaf",
        "CN=Auditor Test Intermediate,O=Auditor Test",
    ]
    assert facts["trust"]["status"] == "trusted"
    assert facts["trust"]["anchor"] == "CN=Auditor Test Root,O=Auditor Test"
    assert facts["client_verify"]["ok"] is True
    assert facts["legacy_protocols"] == {"TLSv1": False, "TLSv1.1": False}
    assert facts["legacy_accepted"] == []
    assert abs(facts["not_after_ts"] - (time.time() + 89 * 86400)) < 3600
    assert 88 < facts["days_left"] < 90
    assert isinstance(facts["checked_at_ts"], float)


async def test_ip_url_matches_ip_san(corpus: Corpus) -> None:
    result = await probe(corpus, "good", host="127.0.0.1")
    assert (str(result.status), codes(result)) == ("pass", [])


async def test_ip_url_without_ip_san_mismatches(corpus: Corpus) -> None:
    result = await probe(corpus, "dns_only", host="127.0.0.1")
    assert codes(result) == ["tls.hostname_mismatch"]


async def test_untrusted_against_system_store(corpus: Corpus) -> None:
    """Without ca_file the private root is unknown: the system store decides."""
    result = await probe(corpus, "good", ca_file=None)
    assert (str(result.status), codes(result)) == ("fail", ["tls.untrusted_root"])


async def test_legacy_check_can_be_disabled(corpus: Corpus) -> None:
    result = await probe(corpus, "tls10", check_legacy=False, check_ciphers=False)
    assert (str(result.status), codes(result)) == ("pass", [])
    assert result.facts["ciphers"] == {"tested": False}
    assert result.facts["legacy_protocols"] == {}


async def test_legacy_versions_recorded(corpus: Corpus) -> None:
    result = await probe(corpus, "tls10")
    assert result.facts["legacy_accepted"] == ["TLSv1", "TLSv1.1"]


async def test_configured_max_validity(corpus: Corpus) -> None:
    result = await probe(corpus, "good", max_validity_days=30)
    assert (str(result.status), codes(result)) == ("warn", ["tls.validity_too_long"])


async def test_incomplete_chain_records_aia_fetch(corpus: Corpus) -> None:
    result = await probe(corpus, "incomplete_chain")
    trust = result.facts["trust"]
    assert trust["status"] == "incomplete_chain"
    assert trust["aia"][0]["status"] == 200
    assert [c["subject"] for c in trust["fetched"]] == [
        "CN=Auditor Test Intermediate,O=Auditor Test"
    ]


async def test_lone_leaf_without_aia_is_an_incomplete_chain(corpus: Corpus) -> None:
    """Only the leaf is sent (signed by an intermediate, the root in ca_file) and nothing can
    be fetched: the operator's fix is "send the intermediate", not "trust another root"."""
    result = await probe(corpus, "incomplete_no_aia")
    assert (str(result.status), codes(result)) == ("fail", ["tls.incomplete_chain"])
    assert result.facts["trust"]["status"] == "issuer_not_sent"
    assert "send the intermediate" in result.summary
    assert "CN=Auditor Test Intermediate,O=Auditor Test" in result.summary


async def probe_lone_leaf(
    corpus: Corpus, name: str, leaf: Any, key: Any, prober: HttpProber
) -> RunResult:
    """The ``tls`` check against a server that sends ``leaf`` alone (no intermediate)."""
    served = pki.write_served(corpus.directory / name, "leaf", leaf, key)
    server = ThreadedServer(tls_handler(server_context(served.chain_file, served.key_file)))
    try:
        return await run_check(
            CHECK,
            Target(service="svc", url=f"https://localhost:{server.port}/", check="tls",
                   kind="tls"),
            TlsOptions(ca_file=corpus.ca_file, check_legacy=False),
            prober=prober,
            timeout=10,
        )  # fmt: skip
    finally:
        await prober.aclose()
        server.close()


async def test_an_expired_intermediate_fetched_through_aia_is_judged(corpus: Corpus) -> None:
    """Only the leaf is sent; its AIA URL serves an intermediate that expired. Clients that
    fetch it build an expired path, so the check says so (not only "incomplete chain")."""
    expired = pki.make_ca(
        "Auditor Expired Intermediate",
        corpus.root,
        not_before=pki.NOW - 400 * pki.DAY,
        not_after=pki.NOW - 3 * pki.DAY,
    )
    aia = ThreadedServer(static_http_handler({"/old.der": (200, {}, pki.der(expired.cert))}))
    key = pki.rsa_key()
    leaf = pki.make_leaf(expired, key, aia_url=f"http://127.0.0.1:{aia.port}/old.der")
    try:
        result = await probe_lone_leaf(corpus, "aia-expired", leaf, key, HttpProber())
    finally:
        aia.close()
    assert result.facts["trust"]["status"] == "incomplete_chain"
    assert {"tls.incomplete_chain", "tls.expired"} <= set(codes(result))
    expired_message = next(f.message for f in result.findings if f.code == "tls.expired")
    assert "Auditor Expired Intermediate" in expired_message
    assert "fetched from its AIA URL" in expired_message


async def test_aia_fetch_goes_through_the_address_policy(corpus: Corpus) -> None:
    """The leaf's AIA URL points at an address the policy denies: nothing is fetched (the
    fetch is the prober's, policy-checked), and the verdict is still an incomplete chain."""
    aia = ThreadedServer(
        static_http_handler({"/inter.der": (200, {}, pki.der(corpus.intermediate.cert))}),
        "127.0.0.2",
    )
    key = pki.rsa_key()
    leaf = pki.make_leaf(corpus.intermediate, key, aia_url=f"http://127.0.0.2:{aia.port}/inter.der")
    policy = AddressPolicy(deny_cidrs=(ipaddress.ip_network("127.0.0.2/32"),))
    try:
        result = await probe_lone_leaf(corpus, "aia-denied", leaf, key, HttpProber(policy))
    finally:
        aia.close()
    assert codes(result) == ["tls.incomplete_chain"]
    trust = result.facts["trust"]
    assert (trust["status"], trust["fetched"]) == ("issuer_not_sent", [])
    assert "127.0.0.2" in trust["aia"][0]["error"]


async def test_blocked_by_policy(corpus: Corpus) -> None:
    policy = AddressPolicy(deny_cidrs=(ipaddress.ip_network("127.0.0.0/8"),))
    result = await probe(corpus, "good", prober=HttpProber(policy))
    assert str(result.status) == "error"
    assert result.error_kind == "blocked_by_policy"
    assert codes(result) == ["tls.blocked_by_policy"]


async def test_refused_is_an_error(corpus: Corpus) -> None:
    result = await probe(corpus, "good", port=1)
    assert str(result.status) == "error"
    assert result.error_kind == "refused"


async def test_total_deadline_on_a_silent_port(corpus: Corpus) -> None:
    """A port that accepts TCP and never answers the ClientHello ends at the timeout."""
    prober = HttpProber()
    started = time.monotonic()
    try:
        result = await run_check(
            CHECK,
            Target(service="svc", url=f"https://localhost:{corpus.port('silent')}", check="tls",
                   kind="tls"),
            TlsOptions(ca_file=corpus.ca_file),
            prober=prober,
            timeout=1.0,
        )  # fmt: skip
    finally:
        await prober.aclose()
    assert time.monotonic() - started < 2.0
    assert (str(result.status), result.error_kind) == ("error", "timeout"), result.summary


def test_registered() -> None:
    from checks.registry import get_check

    assert isinstance(get_check("tls"), TlsCheck)


async def test_an_unencodable_host_name_is_a_dns_error(corpus: Corpus) -> None:
    """A label IDNA cannot encode (over 63 characters) cannot be resolved: ``dns``, not a
    crashed check."""
    result = await probe(corpus, "good", host="x" * 64 + ".test")
    assert (str(result.status), result.error_kind) == ("error", "dns")


async def test_a_refused_second_connection_tries_the_next_address(corpus: Corpus) -> None:
    """The first address fails verification, then refuses the diagnosing connection: the
    second address (serving a good chain) is the answer, as for a refused first connection."""
    bad, good = corpus.cases["self_signed"].served, corpus.cases["good"].served
    first = ThreadedServer(tls_handler(server_context(bad.chain_file, bad.key_file)), accepts=1)
    second = ThreadedServer(
        tls_handler(server_context(good.chain_file, good.key_file)), "127.0.0.2", first.port
    )
    end = time.monotonic() + 5
    try:
        addr, hs, verdict = await verified_handshake(
            HttpProber().tls,
            ["127.0.0.1", "127.0.0.2"],
            first.port,
            "localhost",
            corpus.ca_file,
            lambda: end - time.monotonic(),
        )
    finally:
        first.close()
        second.close()
    assert (addr, verdict["ok"]) == ("127.0.0.2", True)
    assert len(hs.chain_der) == 2


async def test_a_replaced_ca_file_changes_the_verdict_of_an_unchanged_chain(
    corpus: Corpus, tmp_path: Path
) -> None:
    """Certificates are parsed and path-checked once per chain and trust store (memoised):
    the same chain must still be judged afresh against a CA file replaced on disk, and a
    run's facts must be its own (changing one run's facts changes no later run)."""
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(corpus.root.pem)
    first = await probe(corpus, "good", ca_file=str(ca_file))
    assert (str(first.status), first.facts["trust"]["status"]) == ("pass", "trusted")
    first.facts["chain"][0]["san_dns"].append("evil.test")
    first.facts["trust"]["path"].append(99)

    ca_file.write_bytes(pki.make_ca("Another Root").pem)
    os.utime(ca_file, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    replaced = await probe(corpus, "good", ca_file=str(ca_file))
    assert codes(replaced) == ["tls.untrusted_root"]

    ca_file.write_bytes(corpus.root.pem)
    os.utime(ca_file, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
    again = await probe(corpus, "good", ca_file=str(ca_file))
    assert (str(again.status), again.facts["trust"]["path"]) == ("pass", [0, 1])
    assert again.facts["chain"][0]["san_dns"] == ["localhost"]
