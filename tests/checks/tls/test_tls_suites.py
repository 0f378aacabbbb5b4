"""Pure grading of scanned suites (Mozilla profiles) and the scan's ServerHello parsing."""

from __future__ import annotations

import os
import struct
import time

import pytest

from checks.tls import TlsCheck, TlsOptions, cipherscan
from checks.tls.suites import GROUPS, INTERMEDIATE, OLD, Suite, profile_of
from tests.checks.tls.servers import ThreadedServer

AEAD = "ECDHE-RSA-AES128-GCM-SHA256"


@pytest.mark.parametrize(
    ("tls12", "tls13", "legacy", "profile"),
    [
        ([], True, False, "modern"),
        ([AEAD], True, False, "intermediate"),
        ([AEAD], False, False, "intermediate"),
        ([AEAD], True, True, "old"),  # TLS 1.0/1.1 accepted
        ([AEAD, "ECDHE-RSA-AES256-SHA384"], True, False, "old"),
        ([AEAD, "AES128-SHA"], True, False, "old"),
        ([AEAD, "DES-CBC3-SHA"], True, False, "old"),
        ([AEAD, "ECDHE-RSA-DES-CBC3-SHA"], True, False, "none"),
        ([AEAD, "ECDHE-ARIA256-GCM-SHA384"], True, False, "none"),
        ([AEAD, "RC4-SHA"], True, False, "none"),
        ([], False, False, "none"),
    ],
)
def test_profile_met(tls12: list[str], tls13: bool, legacy: bool, profile: str) -> None:
    assert profile_of(tls12, tls13, legacy) == profile


def test_suite_properties() -> None:
    assert Suite("AES128-SHA").cbc_sha1 and not Suite("AES128-SHA").forward_secret
    assert not Suite("ECDHE-RSA-AES128-SHA256").cbc_sha1
    assert Suite("ADH-AES128-SHA").broken == "anonymous (no server authentication)"
    assert Suite("ECDHE-RSA-NULL-SHA").broken == "NULL (no encryption)"
    assert Suite("EXP-RC4-MD5").broken == "EXPORT (40/56-bit)"
    assert Suite("DES-CBC3-SHA").broken == "3DES (64-bit block, SWEET32)"
    assert Suite(AEAD).broken is None and Suite(AEAD).forward_secret
    assert INTERMEDIATE < OLD
    ids = [i for group in GROUPS.values() for i, _ in group]
    assert len(ids) == len(set(ids))  # one group per suite


def _facts(tls12: list[str], tls13: bool = True) -> dict[str, object]:
    return {
        "host": "svc",
        "chain": [],
        "checked_at_ts": 0,
        "legacy_accepted": [],
        "ciphers": {
            "tested": True,
            "tls12": tls12,
            "tls13": tls13,
            "profile": profile_of(tls12, tls13, False),
        },
    }


def _codes(tls12: list[str], tls13: bool = True, **opts: object) -> list[str]:
    outcome = TlsCheck().evaluate(_facts(tls12, tls13), TlsOptions(**opts))  # type: ignore[arg-type]
    return sorted(f.code for f in outcome.findings if f.code != "tls.handshake_failed")


def test_each_problem_is_reported_once() -> None:
    assert _codes([AEAD]) == []
    assert _codes([AEAD, "ECDHE-RSA-AES128-SHA"]) == ["tls.weak_cipher"]
    assert _codes([AEAD, "AES128-GCM-SHA256"]) == ["tls.no_forward_secrecy"]
    assert _codes([AEAD, "ECDHE-RSA-AES128-SHA256"]) == ["tls.profile"]
    assert _codes([AEAD, "ECDHE-RSA-AES128-SHA256"], cipher_profile="old") == []
    assert _codes([AEAD, "RC4-SHA"]) == ["tls.no_forward_secrecy", "tls.weak_cipher"]
    assert _codes([AEAD], cipher_profile="modern") == ["tls.profile"]


def _server_hello(suite: int, version: int = 0x0303) -> bytes:
    body = struct.pack("!H", version) + os.urandom(32) + b"\x20" + os.urandom(32)
    body += struct.pack("!HB", suite, 0) + b"\x00\x00"
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs


async def test_a_server_hello_naming_a_suite_not_offered_counts_as_refused() -> None:
    """A broken or hostile server answering every hello with RC4-SHA: only the RC4 group
    (which offered it) records it; a ServerHello split over two records is put together."""

    def handle_records(conn: object) -> None:
        conn.recv(4096)  # type: ignore[attr-defined]
        hs = _server_hello(0x0005)[5:]
        for part in (hs[:30], hs[30:]):
            conn.sendall(b"\x16\x03\x03" + struct.pack("!H", len(part)) + part)  # type: ignore[attr-defined]

    server = ThreadedServer(handle_records)
    cipherscan.forget()
    end = time.monotonic() + 5
    try:
        scan = await cipherscan.scan(
            "127.0.0.1", server.port, "localhost", lambda: end - time.monotonic()
        )
    finally:
        server.close()
        cipherscan.forget()
    assert scan["groups"]["rc4"] == "RC4-SHA"
    assert [g for g, s in scan["groups"].items() if s] == ["rc4"]


async def test_an_unanswered_scan_is_untested_and_not_cached() -> None:
    def silent(conn: object) -> None:
        time.sleep(2)

    server = ThreadedServer(silent)
    cipherscan.forget()
    end = time.monotonic() + 0.5
    try:
        scan = await cipherscan.scan("127.0.0.1", server.port, None, lambda: end - time.monotonic())
    finally:
        server.close()
    assert set(scan["untested"]) == set(GROUPS) and scan["cached"] is False
    assert cipherscan._cache == {}


def test_a_partial_scan_claims_no_profile() -> None:
    """Groups that went unanswered could hide anything: no profile, no profile finding."""
    from checks.tls.check import cipher_facts

    scan = {"groups": dict.fromkeys(GROUPS), "untested": ["rc4"], "cached": False, "age_s": 0}
    facts = {**_facts([]), "ciphers": cipher_facts(scan, "TLSv1.3", [])}
    assert facts["ciphers"]["profile"] == "unknown"  # type: ignore[index]
    outcome = TlsCheck().evaluate(facts, TlsOptions(cipher_profile="modern"))  # type: ignore[arg-type]
    assert "tls.profile" not in [f.code for f in outcome.findings]
    assert outcome.summary.endswith("(Mozilla profile: unknown)")
