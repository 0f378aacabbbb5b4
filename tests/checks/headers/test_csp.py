"""CSP parser and the content-security-policy test, case by case from the rules (§2)."""

from __future__ import annotations

import pytest

from checks.headers.csp import CspParseError, collation_key, parse_csp, parse_csp_meta
from checks.headers.csp_rules import content_security_policy
from checks.headers.model import SCORE_TABLE

from .helpers import make_scan

P = pytest.param


@pytest.mark.parametrize(
    ("policies", "expected"),
    [
        P(["default-src"], {"default-src": {"'none'"}}, id="empty-src-is-none"),
        P(["upgrade-insecure-requests"], {"upgrade-insecure-requests": {"'none'"}}, id="valueless"),
        P(["DEFAULT-SRC 'SELF'"], {"default-src": {"'self'"}}, id="lowercased"),
        P(["default-src 'self';;; ;;;"], {"default-src": {"'self'"}}, id="empty-entries"),
        P(
            ["script-src https://a.com https://a.com/x"],
            {"script-src": {"https://a.com"}},
            id="redundant-longer-source-dropped",
        ),
        P(
            ["default-src http:", "default-src https:"],
            {"default-src": {"'none'"}},
            id="no-common-source-is-none",
        ),
        P(
            ["default-src 'self' https://a.com", "default-src 'self'"],
            {"default-src": {"'self'"}},
            id="merge-keeps-common",
        ),
        P(
            ["script-src 'self'; default-src 'self'", "default-src 'self'", "img-src 'self'"],
            {"script-src": {"'self'"}, "default-src": {"'self'"}, "img-src": {"'none'"}},
            id="three-policies-earlier-only-survives",
        ),
    ],
)
def test_parse_csp(policies: list[str], expected: dict[str, set[str]]) -> None:
    assert parse_csp(policies).directives == expected


@pytest.mark.parametrize(
    "policies",
    [
        P([""], id="empty"),
        P(["  "], id="blank"),
        P(["\r\n"], id="crlf"),
        P(["defa"], id="too-short"),
        P(["default-src 'self'; default-src 'none'"], id="repeated-directive"),
    ],
)
def test_parse_csp_invalid(policies: list[str]) -> None:
    with pytest.raises(CspParseError):
        parse_csp(policies)


def test_duplicate_report_directives_are_a_warning() -> None:
    parsed = parse_csp(["default-src 'none'; report-uri /a; report-uri /b"])
    assert parsed.duplicates == {"report-uri"}


def test_meta_drops_header_only_directives() -> None:
    meta = parse_csp_meta(["frame-ancestors 'none'; sandbox; report-uri /r; img-src 'self'"])
    assert meta.directives == {"img-src": {"'self'"}}


def test_collation_follows_icu_punctuation_order() -> None:
    assert collation_key("'self'") < collation_key("*") < collation_key("data:")
    assert collation_key("a:") < collation_key("a/")  # code points would say the opposite


D = "default-src 'self'; "

CASES = [
    P("default-src 'none'", "csp-implemented-with-no-unsafe-default-src-none", id="default-none"),
    P("default-src 'self'", "csp-implemented-with-no-unsafe", id="default-self"),
    P(
        "default-src 'none'; script-src 'self'; style-src 'self'",
        "csp-implemented-with-no-unsafe-default-src-none",
        id="none-plus-self",
    ),
    P(
        "upgrade-insecure-requests",
        "csp-implemented-with-unsafe-inline",
        id="no-script-src-is-star",
    ),
    P("script-src 'self'", "csp-implemented-with-unsafe-inline", id="object-src-falls-to-star"),
    P("frame-ancestors 'none'", "csp-implemented-with-unsafe-inline", id="frame-ancestors-only"),
    P(
        "default-src 'self' 'unsafe-inline'",
        "csp-implemented-with-unsafe-inline",
        id="unsafe-inline",
    ),
    P(D + "script-src 'self' data:", "csp-implemented-with-unsafe-inline", id="data-in-script"),
    P(D + "object-src https:", "csp-implemented-with-unsafe-inline", id="broad-object-src"),
    P(D + "script-src https://*", "csp-implemented-with-unsafe-inline", id="broad-script-src"),
    P(
        D + "script-src http://cdn.example.com",
        "csp-implemented-with-insecure-scheme",
        id="http-script",
    ),
    P(
        D + "connect-src http://api.example.com",
        "csp-implemented-with-insecure-scheme",
        id="http-active",
    ),
    P(D + "script-src 'self' 'unsafe-eval'", "csp-implemented-with-unsafe-eval", id="unsafe-eval"),
    P(
        D + "style-src 'self' 'unsafe-eval'",
        "csp-implemented-with-unsafe-eval",
        id="unsafe-eval-style",
    ),
    P(
        D + "img-src http://img.example.com",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
        id="passive-http",
    ),
    P(
        "default-src 'none'; media-src ftp://m",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
        id="passive-ftp",
    ),
    P(
        D + "style-src 'self' 'unsafe-inline'",
        "csp-implemented-with-unsafe-inline-in-style-src-only",
        id="style-inline",
    ),
    P(
        "default-src 'none'; script-src 'nonce-abc' 'unsafe-inline'",
        "csp-implemented-with-no-unsafe-default-src-none",
        id="nonce-cancels-inline",
    ),
    P(
        "default-src 'self' 'unsafe-inline' 'sha256-abc'",
        "csp-implemented-with-no-unsafe",
        id="hash-cancels-inline-shared-set",
    ),
    P(
        "default-src 'none'; script-src 'nonce-a' 'strict-dynamic' https: 'self'",
        "csp-implemented-with-no-unsafe-default-src-none",
        id="strict-dynamic",
    ),
    P(
        "default-src 'none'; script-src 'strict-dynamic' 'self'",
        "csp-header-invalid",
        id="strict-dynamic-without-nonce",
    ),
    P(
        "default-src 'none'; script-src 'nonce-a' 'strict-dynamic'; base-uri http://x",
        "csp-implemented-with-insecure-scheme",
        id="strict-dynamic-still-checks-active",
    ),
    P("defa", "csp-header-invalid", id="too-short"),
    P("default-src 'self'; default-src 'none'", "csp-header-invalid", id="repeat"),
    P("default-src 'none',", "csp-header-invalid", id="trailing-comma"),
    P(
        "default-src 'none'; report-uri /a; report-uri /b",
        "csp-implemented-but-duplicate-directives",
        id="duplicate-report-uri",
    ),
    P(
        "default-src 'self' 'unsafe-inline'; report-to a; report-to b",
        "csp-implemented-with-unsafe-inline",
        id="duplicate-on-failing",
    ),
    P(
        "default-src 'none', default-src 'self'",
        "csp-implemented-with-no-unsafe-default-src-none",
        id="comma-split",
    ),
]


@pytest.mark.parametrize(("header", "expected"), CASES)
def test_csp_header(header: str, expected: str) -> None:
    result = content_security_policy(make_scan([("Content-Security-Policy", header)]))
    assert result.result == expected
    assert result.passed == (
        SCORE_TABLE[expected] >= 0 or expected.endswith("passive-content-only")
    )


@pytest.mark.parametrize(
    ("headers", "body", "content_type", "expected"),
    [
        P([], "", "text/html", "csp-not-implemented", id="none"),
        P(
            [("Content-Security-Policy-Report-Only", "default-src 'none'")],
            "",
            "text/html",
            "csp-not-implemented-but-reporting-enabled",
            id="report-only",
        ),
        P(
            [],
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\">",
            "text/html",
            "csp-implemented-with-no-unsafe-default-src-none",
            id="meta",
        ),
        P(
            [],
            "<meta http-equiv=' content-security-policy ' content=\"default-src 'self'\">",
            "text/html",
            "csp-implemented-with-no-unsafe",
            id="meta-case",
        ),
        P(
            [],
            "<meta http-equiv='Content-Security-Policy' content=\"frame-ancestors 'none'\">",
            "text/html",
            "csp-not-implemented",
            id="meta-frame-ancestors-only",
        ),
        P(
            [],
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\">",
            "application/json",
            "csp-not-implemented",
            id="meta-ignored-not-html",
        ),
        P(
            [("Content-Security-Policy", "default-src http:")],
            "<meta http-equiv='Content-Security-Policy' content='default-src https:'>",
            "text/html",
            "csp-implemented-with-no-unsafe-default-src-none",
            id="header-meta-merge",
        ),
        P(
            [
                ("Content-Security-Policy", "default-src 'self'"),
                ("Content-Security-Policy", "script-src 'self'"),
            ],
            "",
            "text/html",
            "csp-implemented-with-no-unsafe",
            id="two-headers",
        ),
    ],
)
def test_csp_sources(
    headers: list[tuple[str, str]], body: str, content_type: str, expected: str
) -> None:
    scan = make_scan([*headers, ("Content-Type", content_type)], body)
    assert content_security_policy(scan).result == expected


def test_insecure_scheme_only_matters_on_https() -> None:
    scan = make_scan(
        [("Content-Security-Policy", D + "script-src http://cdn.example.com")],
        https=False,
        url="http://example.com/",
    )
    assert content_security_policy(scan).result == "csp-implemented-with-no-unsafe"
