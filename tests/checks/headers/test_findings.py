"""Findings beyond the Observatory: COOP/COEP (algorithm 6 rules), X-XSS-Protection, cache."""

from __future__ import annotations

import pytest

from checks.headers.analyzers import strict_transport_security
from checks.headers.findings import extra_findings, next_algorithm_results

from .helpers import make_scan, never_preloaded

P = pytest.param
COOP = "cross-origin-opener-policy"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        P([], "coop-not-implemented", id="missing"),
        P(["same-origin"], "coop-implemented-with-same-origin", id="same-origin"),
        P(
            ["same-origin-allow-popups"],
            "coop-implemented-with-same-origin-allow-popups",
            id="allow-popups",
        ),
        P(["noopener-allow-popups"], "coop-implemented-with-noopener-allow-popups", id="noopener"),
        P(["unsafe-none"], "coop-implemented-with-unsafe-none", id="unsafe-none"),
        P(
            ['same-origin; report-to="coop"'],
            "coop-implemented-with-same-origin",
            id="params-ignored",
        ),
        P(["same-origin; report-to"], "coop-implemented-with-same-origin", id="bare-param"),
        P(["same-origin; report-to=coop endpoint"], "coop-header-invalid", id="not-structured"),
        P(['"same-origin"'], "coop-header-invalid", id="quoted"),
        P(["Same-Origin"], "coop-header-invalid", id="wrong-case"),
        P(["same-origin", "same-origin"], "coop-header-invalid", id="twice"),
    ],
)
def test_coop(values: list[str], expected: str) -> None:
    scan = make_scan([("Cross-Origin-Opener-Policy", v) for v in values])
    assert next_algorithm_results(scan)[COOP] == expected


def test_coep() -> None:
    scan = make_scan([("Cross-Origin-Embedder-Policy", "credentialless")])
    assert next_algorithm_results(scan)["cross-origin-embedder-policy"] == (
        "coep-implemented-with-credentialless"
    )


def codes(headers: list[tuple[str, str]], environment: str = "production") -> set[str]:
    scan = make_scan(headers)
    hsts = strict_transport_security(scan, never_preloaded)
    return {f.code for f in extra_findings(scan, hsts, environment)}


@pytest.mark.parametrize(
    ("headers", "present", "absent"),
    [
        P(
            [("X-XSS-Protection", "1; mode=block")],
            {"headers.x-xss-protection"},
            set(),
            id="xxss-on",
        ),
        P([("X-XSS-Protection", "0")], set(), {"headers.x-xss-protection"}, id="xxss-zero"),
        P([], {"headers.permissions-policy"}, {"headers.x-xss-protection"}, id="pp-missing"),
        P(
            [("Set-Cookie", "sessionid=x; Secure; HttpOnly")],
            {"headers.cache-control"},
            set(),
            id="session-cacheable",
        ),
        P(
            [("Set-Cookie", "sessionid=x; Secure"), ("Cache-Control", "private, no-store")],
            set(),
            {"headers.cache-control"},
            id="session-no-store",
        ),
        P(
            [("Strict-Transport-Security", "max-age=31536000; includeSubDomains")],
            set(),
            {"headers.hsts-max-age", "headers.hsts-include-subdomains"},
            id="hsts-strong",
        ),
        P(
            [("Strict-Transport-Security", "max-age=86400")],
            {"headers.hsts-max-age", "headers.hsts-include-subdomains"},
            set(),
            id="hsts-weak",
        ),
    ],
)
def test_extra_findings(
    headers: list[tuple[str, str]], present: set[str], absent: set[str]
) -> None:
    found = codes(headers)
    assert present <= found
    assert not (absent & found)


def test_hsts_strength_only_on_production() -> None:
    assert "headers.hsts-max-age" not in codes(
        [("Strict-Transport-Security", "max-age=86400")], "staging"
    )
