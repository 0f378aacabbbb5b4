"""Pure rules: CA/B lifetime table, SAN matching, and evaluate() over hand-made facts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from checks.tls import TlsCheck, TlsOptions
from checks.tls.analysis import dns_name_matches, hostname_matches
from checks.tls.limits import lifetime_days, max_validity_days

DAY = 86_400
NOW = datetime(2026, 11, 27, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("issued", "limit"),
    [
        (datetime(2025, 1, 1, tzinfo=UTC), 398),
        (datetime(2026, 3, 14, 23, 59, 59, tzinfo=UTC), 398),
        (datetime(2026, 3, 15, tzinfo=UTC), 200),
        (datetime(2027, 3, 14, tzinfo=UTC), 200),
        (datetime(2027, 3, 15, tzinfo=UTC), 100),
        (datetime(2029, 3, 14, tzinfo=UTC), 100),
        (datetime(2029, 3, 15, tzinfo=UTC), 47),
        (datetime(2031, 1, 1), 47),
    ],
)
def test_cabf_limit_by_issue_date(issued: datetime, limit: int) -> None:
    assert max_validity_days(issued) == limit


def test_lifetime_counts_inclusive_seconds() -> None:
    assert lifetime_days(0, 90 * DAY - 1) == 90
    assert lifetime_days(0, 90 * DAY) == 91


@pytest.mark.parametrize(
    ("host", "pattern", "ok"),
    [
        ("example.com", "example.com", True),
        ("EXAMPLE.com.", "example.COM", True),
        ("a.example.com", "*.example.com", True),
        ("a.b.example.com", "*.example.com", False),
        ("example.com", "*.example.com", False),
        ("a.com", "*.com", False),
        ("foo.example.com", "f*.example.com", False),
        ("wrong.host.badssl.com", "*.badssl.com", False),
    ],
)
def test_dns_name_matching(host: str, pattern: str, ok: bool) -> None:
    assert dns_name_matches(host.rstrip(".").lower(), pattern) is ok


def test_hostname_matching_ip_and_idn() -> None:
    assert hostname_matches("127.0.0.1", ["localhost"], ["127.0.0.1"])
    assert not hostname_matches("127.0.0.1", ["127.0.0.1"], [])  # an IP never matches a DNS SAN
    assert hostname_matches("::1", [], ["0:0:0:0:0:0:0:1"])
    assert hostname_matches("bücher.example", ["xn--bcher-kva.example"], [])
    assert not hostname_matches("localhost", [], [])


def _cert(subject: str, nb: float, na: float, **kw: Any) -> dict[str, Any]:
    return {
        "subject": subject,
        "san_dns": kw.pop("san_dns", ["svc.example.com"]),
        "san_ip": [],
        "has_san": True,
        "common_name": None,
        "not_before": "nb",
        "not_after": "na",
        "not_before_ts": nb,
        "not_after_ts": na,
        "key_type": "EC",
        "key_size": 256,
        "signature_algorithm": "ecdsa-with-SHA256",
        "signature_hash": "sha256",
        "self_signed": False,
        **kw,
    }


BASE: dict[str, Any] = {
    "host": "svc.example.com",
    "checked_at_ts": NOW,
    "chain": [
        _cert("CN=svc", NOW - 10 * DAY, NOW + 80 * DAY),
        _cert("CN=R1", NOW - 900 * DAY, NOW + 900 * DAY, san_dns=[]),
        _cert("CN=Old cross-sign", NOW - 3000 * DAY, NOW - 100 * DAY, self_signed=True),
    ],
    "trust": {"status": "trusted", "store": "system", "path": [0, 1]},
    "client_verify": {"ok": True},
    "legacy_protocols": {"TLSv1": False, "TLSv1.1": False},
}


def run(mutate: Any = None, **opts: Any) -> tuple[str, list[str]]:
    facts = copy.deepcopy(BASE)
    if mutate:
        mutate(facts)
    outcome = TlsCheck().evaluate(facts, TlsOptions(**opts))
    return str(outcome.status), sorted(f.code for f in outcome.findings)


def test_healthy_public_chain_has_no_finding() -> None:
    # the expired extra certificate is not on the path: it must not fail the chain
    assert run() == ("pass", [])


def test_public_ca_overlong_leaf_fails() -> None:
    def long(f: dict[str, Any]) -> None:
        f["chain"][0]["not_after_ts"] = NOW + 300 * DAY  # issued 2026-11: limit 200

    assert run(long) == ("fail", ["tls.validity_too_long"])

    def private(f: dict[str, Any]) -> None:
        long(f)
        f["trust"]["store"] = "ca_file"

    assert run(private) == ("warn", ["tls.validity_too_long"])


def test_expiring_thresholds_are_options() -> None:
    # 80 of 90 days left: the lifetime fractions (1/3, 1/6) cap the fixed days
    assert run(warn_days=100) == ("pass", [])
    assert run(warn_days=100, warn_fraction=1) == ("warn", ["tls.expiring"])
    assert run(warn_days=100, fail_days=90, warn_fraction=1, fail_fraction=1) == (
        "fail",
        ["tls.expiring"],
    )
    with pytest.raises(ValueError):
        TlsOptions(warn_days=5, fail_days=10)
    with pytest.raises(ValueError):
        TlsOptions(unknown_key=1)  # type: ignore[call-arg]


def test_expired_intermediate_on_path_fails() -> None:
    def expire(f: dict[str, Any]) -> None:
        f["chain"][1]["not_after_ts"] = NOW - DAY

    assert run(expire) == ("fail", ["tls.expired"])


def test_weak_intermediate_signature_and_key() -> None:
    def weak(f: dict[str, Any]) -> None:
        f["chain"][1].update(signature_hash="sha1", key_type="RSA", key_size=1024)

    assert run(weak) == ("fail", ["tls.weak_key", "tls.weak_signature"])


def test_strict_client_rejection_without_explanation() -> None:
    def reject(f: dict[str, Any]) -> None:
        f["client_verify"] = {"ok": False, "code": 26, "message": "unsuitable certificate purpose"}

    assert run(reject) == ("fail", ["tls.verify_failed"])


def test_empty_chain_is_a_handshake_failure() -> None:
    assert run(lambda f: f.update(chain=[])) == ("fail", ["tls.handshake_failed"])
