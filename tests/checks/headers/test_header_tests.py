"""Table-driven cases for every Observatory test but CSP, written from observatory-rules.md."""

from __future__ import annotations

import pytest

from checks.headers.analyzers import (
    cross_origin_resource_policy,
    cross_origin_resource_sharing,
    redirection,
    referrer_policy,
    strict_transport_security,
    x_content_type_options,
    x_frame_options,
)
from checks.headers.cookies import cookies, redact
from checks.headers.model import CORS_ORIGIN, SCORE_TABLE
from checks.headers.sri import subresource_integrity

from .helpers import URL, make_scan, never_preloaded

P = pytest.param
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def always_preloaded(host: str) -> bool:
    return True


# --- cookies ---------------------------------------------------------------------------


def sc(*values: str) -> list[tuple[str, str]]:
    return [("Set-Cookie", v) for v in values]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        P([], "cookies-not-found", id="none"),
        P(
            sc("sessionid=1; Secure; HttpOnly; SameSite=Lax"),
            "cookies-secure-with-httponly-sessions-and-samesite",
            id="all-good",
        ),
        P(
            sc("sessionid=1; Secure; HttpOnly"),
            "cookies-secure-with-httponly-sessions",
            id="no-samesite",
        ),
        P(
            sc("LoginToken=1; Secure; HttpOnly; SameSite=Strict"),
            "cookies-secure-with-httponly-sessions-and-samesite",
            id="login-is-session",
        ),
        P(sc("theme=dark"), "cookies-without-secure-flag", id="insecure"),
        P(
            [*sc("theme=dark"), HSTS],
            "cookies-without-secure-flag-but-protected-by-hsts",
            id="insecure-hsts",
        ),
        P(
            sc("sessionid=1; HttpOnly"),
            "cookies-session-without-secure-flag",
            id="session-insecure",
        ),
        P(
            [*sc("PHPSESSID=1; HttpOnly"), HSTS],
            "cookies-session-without-secure-flag-but-protected-by-hsts",
            id="session-insecure-hsts",
        ),
        P(
            sc("sessionid=1; Secure"),
            "cookies-session-without-httponly-flag",
            id="session-no-httponly",
        ),
        P(
            sc("csrftoken=1; Secure"),
            "cookies-anticsrf-without-samesite-flag",
            id="csrf-no-samesite",
        ),
        P(
            sc("csrftoken=1; Secure; SameSite=Strict"),
            "cookies-secure-with-httponly-sessions-and-samesite",
            id="csrf-samesite",
        ),
        P(sc("a=1; Secure; SameSite=Bogus"), "cookies-samesite-flag-invalid", id="samesite-bogus"),
        P(sc("a=1; Secure; SameSite"), "cookies-samesite-flag-invalid", id="samesite-empty"),
        P(
            [*sc("a=1; SameSite=None"), HSTS],
            "cookies-samesite-flag-invalid",
            id="samesite-none-insecure",
        ),
        P(
            sc("theme=1", "sessionid=1; Secure"),
            "cookies-session-without-httponly-flag",
            id="worst-wins",
        ),
        P(sc("heroku-session-affinity=x"), "cookies-not-found", id="heroku-ignored"),
        P(sc("sessionid=1; Domain=other.org"), "cookies-not-found", id="foreign-domain-rejected"),
    ],
)
def test_cookies(headers: list[tuple[str, str]], expected: str) -> None:
    result = cookies(make_scan(headers), never_preloaded)
    assert result.result == expected
    assert result.passed == (SCORE_TABLE[expected] >= 0)


def test_cookies_from_other_requests_count() -> None:
    scan = make_scan([], extra_cookies=[(URL + "robots.txt", "sessionid=1")])
    assert cookies(scan, never_preloaded).result == "cookies-session-without-secure-flag"


def test_redacted_cookie_grades_the_same() -> None:
    raw = "sessionid=s3cr3t; Secure; SameSite=Lax"
    assert "s3cr3t" not in redact(raw)
    scan = make_scan(sc(redact(raw)))
    assert cookies(scan, never_preloaded).result == "cookies-session-without-httponly-flag"


# --- CORS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cors", "expected"),
    [
        P(None, "cross-origin-resource-sharing-not-implemented", id="no-preflight-answer"),
        P([], "cross-origin-resource-sharing-not-implemented", id="no-acao"),
        P(
            [("Access-Control-Allow-Origin", "*")],
            "cross-origin-resource-sharing-implemented-with-public-access",
            id="public",
        ),
        P(
            [("Access-Control-Allow-Origin", "https://example.com")],
            "cross-origin-resource-sharing-implemented-with-restricted-access",
            id="restricted",
        ),
        P(
            [("Access-Control-Allow-Origin", CORS_ORIGIN)],
            "cross-origin-resource-sharing-implemented-with-restricted-access",
            id="echo-no-credentials",
        ),
        P(
            [
                ("Access-Control-Allow-Origin", CORS_ORIGIN),
                ("Access-Control-Allow-Credentials", "TRUE "),
            ],
            "cross-origin-resource-sharing-implemented-with-universal-access",
            id="universal",
        ),
    ],
)
def test_cors(cors: list[tuple[str, str]] | None, expected: str) -> None:
    result = cross_origin_resource_sharing(make_scan(cors=cors))
    assert result.result == expected
    assert result.passed == (SCORE_TABLE[expected] == 0)


# --- redirection -----------------------------------------------------------------------

H, S = "http://example.com/", "https://example.com/"


@pytest.mark.parametrize(
    ("route", "verified", "expected"),
    [
        P(None, True, "redirection-not-needed-no-http", id="no-http"),
        P([H, S], True, "redirection-to-https", id="to-https"),
        P([H, S + "home"], True, "redirection-to-https", id="to-https-other-path"),
        P([H], True, "redirection-missing", id="missing"),
        P([H, "http://www.example.com/"], True, "redirection-not-to-https", id="not-to-https"),
        P(
            [H, H + "x", S],
            True,
            "redirection-not-to-https-on-initial-redirection",
            id="http-first",
        ),
        P([H, "https://www.example.com/"], True, "redirection-off-host-from-http", id="off-host"),
        P([H, S], False, "redirection-invalid-cert", id="invalid-cert"),
    ],
)
def test_redirection(route: list[str] | None, verified: bool, expected: str) -> None:
    result = redirection(make_scan(route=route, http_verified=verified), never_preloaded)
    assert result.result == expected
    assert result.passed == (expected in ("redirection-to-https", "redirection-not-needed-no-http"))


def test_redirection_all_preloaded() -> None:
    result = redirection(make_scan(route=[H]), always_preloaded)
    assert (result.result, result.passed) == ("redirection-all-redirects-preloaded", True)


# --- referrer-policy -------------------------------------------------------------------

META_UNSAFE = '<meta name="referrer" content="unsafe-url">'
META_PRIVATE = '<meta name="Referrer" content="no-referrer">'


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        P(None, "", "referrer-policy-not-implemented", id="none"),
        *[
            P(v, "", "referrer-policy-private", id=v)
            for v in (
                "no-referrer",
                "same-origin",
                "strict-origin",
                "strict-origin-when-cross-origin",
            )
        ],
        *[
            P(v, "", "referrer-policy-unsafe", id=v)
            for v in (
                "origin",
                "origin-when-cross-origin",
                "unsafe-url",
                "no-referrer-when-downgrade",
            )
        ],
        P("bogus", "", "referrer-policy-header-invalid", id="invalid"),
        P("no-referrer, bogus", "", "referrer-policy-private", id="last-valid-token"),
        P("unsafe-url, No-Referrer ", "", "referrer-policy-private", id="last-wins-case"),
        P("no-referrer", META_UNSAFE, "referrer-policy-unsafe", id="meta-wins"),
        P("unsafe-url", META_PRIVATE, "referrer-policy-private", id="meta-wins-private"),
        P(None, META_PRIVATE, "referrer-policy-private", id="meta-only"),
    ],
)
def test_referrer_policy(header: str | None, body: str, expected: str) -> None:
    headers = [("Referrer-Policy", header)] if header is not None else []
    result = referrer_policy(make_scan(headers, body))
    assert result.result == expected
    assert result.passed == (SCORE_TABLE[expected] >= 0)


def test_referrer_meta_ignored_when_not_html() -> None:
    scan = make_scan([("Content-Type", "application/json")], META_UNSAFE)
    assert referrer_policy(scan).result == "referrer-policy-not-implemented"


# --- HSTS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        P([], "hsts-not-implemented", id="none"),
        P(["max-age=15552000"], "hsts-implemented-max-age-at-least-six-months", id="six-months"),
        P(["max-age=15551999"], "hsts-implemented-max-age-less-than-six-months", id="just-under"),
        P(
            ["max-age=63072000; includeSubDomains; preload"],
            "hsts-implemented-max-age-at-least-six-months",
            id="full",
        ),
        P([" MAX-AGE=31536000 "], "hsts-implemented-max-age-at-least-six-months", id="case"),
        P(["max-age=0"], "hsts-implemented-max-age-less-than-six-months", id="zero"),
        P(["includeSubDomains"], "hsts-header-invalid", id="no-max-age"),
        P(["max-age=31536000", "max-age=31536000"], "hsts-header-invalid", id="sent-twice"),
        P(["max-age=31536000, includeSubDomains"], "hsts-header-invalid", id="comma"),
        P(["max-age=abc"], "hsts-implemented-max-age-at-least-six-months", id="nan-quirk"),
    ],
)
def test_hsts(values: list[str], expected: str) -> None:
    scan = make_scan([("Strict-Transport-Security", v) for v in values])
    result = strict_transport_security(scan, never_preloaded)
    assert result.result == expected
    assert result.passed == (expected == "hsts-implemented-max-age-at-least-six-months")


def test_hsts_needs_https_and_a_valid_cert() -> None:
    no_https = make_scan([HSTS], https=False, url=H)
    assert (
        strict_transport_security(no_https, never_preloaded).result
        == "hsts-not-implemented-no-https"
    )
    bad_cert = make_scan([HSTS], verified=False)
    assert strict_transport_security(bad_cert, never_preloaded).result == "hsts-invalid-cert"
    preloaded = strict_transport_security(make_scan([]), always_preloaded)
    assert (preloaded.result, preloaded.passed) == ("hsts-preloaded", True)


# --- SRI -------------------------------------------------------------------------------


def script(src: str, integrity: bool = False) -> str:
    return f'<script src="{src}"' + (' integrity="sha384-abc"' if integrity else "") + "></script>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        P("<p>hi</p>", "sri-not-implemented-but-no-scripts-loaded", id="no-scripts"),
        P(
            "<script>1</script>",
            "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
            id="inline-only",
        ),
        P(
            script("/app.js"),
            "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
            id="relative",
        ),
        P(
            script("/app.js", True),
            "sri-implemented-and-all-scripts-loaded-securely",
            id="relative-sri",
        ),
        P(
            script("https://cdn.example.com/a.js"),
            "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
            id="same-domain",
        ),
        P(
            script("https://cdn.other.org/a.js", True),
            "sri-implemented-and-external-scripts-loaded-securely",
            id="foreign-sri",
        ),
        P(
            script("https://cdn.other.org/a.js"),
            "sri-not-implemented-but-external-scripts-loaded-securely",
            id="foreign-no-sri",
        ),
        P(
            script("HTTPS://CDN.OTHER.ORG/a.js"),
            "sri-not-implemented-but-external-scripts-loaded-securely",
            id="foreign-uppercase",
        ),
        P(
            script("http://cdn.other.org/a.js", True),
            "sri-implemented-but-external-scripts-not-loaded-securely",
            id="foreign-http-sri",
        ),
        P(
            script("http://cdn.other.org/a.js"),
            "sri-not-implemented-and-external-scripts-not-loaded-securely",
            id="foreign-http",
        ),
        P(
            script("//cdn.example.com/a.js"),
            "sri-not-implemented-and-external-scripts-not-loaded-securely",
            id="protocol-relative",
        ),
        P(
            script("//cdn.example.com/a.js", True),
            "sri-implemented-but-external-scripts-not-loaded-securely",
            id="protocol-relative-sri",
        ),
        P(
            script("https://x.org/a.js") + script("http://y.org/b.js"),
            "sri-not-implemented-and-external-scripts-not-loaded-securely",
            id="worst-wins",
        ),
        P(
            script("https://x.org/a.js", True) + script("/b.js", True),
            "sri-implemented-and-all-scripts-loaded-securely",
            id="same-origin-bonus",
        ),
    ],
)
def test_sri(body: str, expected: str) -> None:
    result = subresource_integrity(make_scan([], body))
    assert result.result == expected
    assert result.passed == (SCORE_TABLE[expected] >= 0)


def test_sri_not_html_and_missing_content_type() -> None:
    json_scan = make_scan([("Content-Type", "application/json")], script("http://x.org/a.js"))
    assert subresource_integrity(json_scan).result == "sri-not-implemented-response-not-html"
    untyped = make_scan([], script("http://x.org/a.js"), html=False)
    assert (
        subresource_integrity(untyped).result
        == "sri-not-implemented-and-external-scripts-not-loaded-securely"
    )
    http_page = make_scan([], script("/a.js", True), https=False, url=H)
    assert (
        subresource_integrity(http_page).result
        == "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
    )


# --- X-Content-Type-Options, X-Frame-Options, CORP -------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        P(["nosniff"], "x-content-type-options-nosniff", id="nosniff"),
        P([" NoSniff "], "x-content-type-options-nosniff", id="case"),
        P([], "x-content-type-options-not-implemented", id="missing"),
        P(["nosniff", "nosniff"], "x-content-type-options-header-invalid", id="twice"),
        P(["bogus"], "x-content-type-options-header-invalid", id="invalid"),
    ],
)
def test_xcto(values: list[str], expected: str) -> None:
    result = x_content_type_options(make_scan([("X-Content-Type-Options", v) for v in values]))
    assert (result.result, result.passed) == (expected, expected.endswith("nosniff"))


CSP_FA = ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
META_FA = "<meta http-equiv='Content-Security-Policy' content=\"frame-ancestors 'none'\">"


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        P([("X-Frame-Options", "DENY")], "", "x-frame-options-sameorigin-or-deny", id="deny"),
        P(
            [("X-Frame-Options", " sameorigin ")],
            "",
            "x-frame-options-sameorigin-or-deny",
            id="sameorigin",
        ),
        P(
            [("X-Frame-Options", "ALLOW-FROM https://x.org")],
            "",
            "x-frame-options-allow-from-origin",
            id="allow-from",
        ),
        P([], "", "x-frame-options-not-implemented", id="missing"),
        P(
            [("X-Frame-Options", "SAMEORIGIN"), ("X-Frame-Options", "SAMEORIGIN")],
            "",
            "x-frame-options-header-invalid",
            id="twice",
        ),
        P([("X-Frame-Options", "bogus")], "", "x-frame-options-header-invalid", id="invalid"),
        P([CSP_FA], "", "x-frame-options-implemented-via-csp", id="via-csp"),
        P(
            [
                ("Content-Security-Policy", "default-src 'self'; frame-ancestors *"),
                ("X-Frame-Options", "bogus"),
            ],
            "",
            "x-frame-options-implemented-via-csp",
            id="via-csp-any-value",
        ),
        P(
            [("Content-Security-Policy", "default-src 'self'")],
            META_FA,
            "x-frame-options-implemented-via-csp",
            id="meta-with-header-csp",
        ),
        P([], META_FA, "x-frame-options-not-implemented", id="meta-only-ignored"),
        P(
            [("X-Frame-Options", "DENY")],
            "<meta http-equiv='X-Frame-Options' content='bogus'>",
            "x-frame-options-sameorigin-or-deny",
            id="meta-xfo-ignored",
        ),
    ],
)
def test_xfo(headers: list[tuple[str, str]], body: str, expected: str) -> None:
    result = x_frame_options(make_scan(headers, body))
    assert (result.result, result.passed) == (expected, SCORE_TABLE[expected] >= 0)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        P(["same-origin"], "corp-implemented-with-same-origin", id="same-origin"),
        P(["Same-Site "], "corp-implemented-with-same-site", id="same-site"),
        P(["cross-origin"], "corp-implemented-with-cross-origin", id="cross-origin"),
        P([], "corp-not-implemented", id="missing"),
        P(["bogus"], "corp-header-invalid", id="invalid"),
        P(["same-origin", "same-origin"], "corp-header-invalid", id="twice"),
    ],
)
def test_corp(values: list[str], expected: str) -> None:
    result = cross_origin_resource_policy(
        make_scan([("Cross-Origin-Resource-Policy", v) for v in values])
    )
    assert (result.result, result.passed) == (expected, expected != "corp-header-invalid")
