"""The headers check end to end against local HTTPS servers (127.0.0.1 only)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.headers import HeadersCheck, HeadersOptions
from checks.headers.model import CORS_ORIGIN
from checks.registry import get_check

from .servers import Page, Tls, make_tls, serve

pytestmark = pytest.mark.usefixtures("probe_engine")

GOOD = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; frame-ancestors 'none'"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Embedder-Policy", "require-corp"),
    ("Permissions-Policy", "camera=()"),
]
CHECK = HeadersCheck()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return make_tls(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.aclose()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on (bound then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


async def audit(
    prober: HttpProber, port: int, environment: str = "staging", **options: Any
) -> RunResult:
    target = Target("svc", f"https://127.0.0.1:{port}", "headers", "headers", environment)
    return await run_check(CHECK, target, HeadersOptions(**options), prober=prober, timeout=5)


def codes(result: RunResult) -> set[str]:
    return {f.code for f in result.findings}


async def test_registry_finds_the_kind() -> None:
    assert isinstance(get_check("headers"), HeadersCheck)


def test_options_validation() -> None:
    assert HeadersOptions().min_grade == "B"
    assert HeadersOptions(min_grade="a+").min_grade == "A+"
    with pytest.raises(ValidationError):
        HeadersOptions(min_grade="Z")
    with pytest.raises(ValidationError):
        HeadersOptions(grade="A")  # type: ignore[call-arg]


async def test_good_site_scores_a_plus_with_redirect(tls: Tls, prober: HttpProber) -> None:
    page = Page(headers=GOOD, body=b"<html><script src='/app.js'></script></html>")
    with serve(page, tls.server_ctx) as port:
        redirect = Page(redirect_to=f"https://127.0.0.1:{port}/")
        with serve(redirect) as http_port:
            result = await audit(prober, port, ca_file=tls.ca_file, http_port=http_port)
    assert result.status is RunStatus.PASS, result.summary
    obs = result.facts["observatory"]
    assert (obs["grade"], obs["score"]) == ("A+", 130)
    assert obs["tests"]["redirection"] == "redirection-to-https"
    assert (
        obs["tests"]["strict-transport-security"] == "hsts-implemented-max-age-at-least-six-months"
    )
    assert result.facts["cert_valid"] is True
    assert result.facts["http_route"] == [
        f"http://127.0.0.1:{http_port}/",
        f"https://127.0.0.1:{port}/",
    ]
    assert codes(result) == set()
    json.dumps(result.to_dict())
    preflight = [r for r in page.requests if r[0] == "OPTIONS"]
    assert preflight and preflight[0][2]["Origin"] == CORS_ORIGIN
    assert preflight[0][2]["Access-Control-Request-Method"] == "GET"


async def test_bare_site_fails_with_findings(
    tls: Tls, prober: HttpProber, closed_port: int
) -> None:
    page = Page(headers=[("Content-Type", "text/html")], body=b"<p>hi</p>")
    with serve(page, tls.server_ctx) as port:
        result = await audit(prober, port, ca_file=tls.ca_file, http_port=closed_port)
    assert result.status is RunStatus.FAIL
    assert result.facts["observatory"]["grade"] == "D"
    assert result.facts["observatory"]["tests"]["redirection"] == "redirection-not-needed-no-http"
    assert {
        "headers.grade",
        "headers.content-security-policy",
        "headers.strict-transport-security",
        "headers.x-content-type-options",
        "headers.x-frame-options",
        "headers.permissions-policy",
    } <= codes(result)
    csp = next(f for f in result.findings if f.code == "headers.content-security-policy")
    assert csp.severity == "high" and "Content-Security-Policy: default-src 'none'" in csp.message


async def test_invalid_cert_gives_invalid_cert_results(tls: Tls, prober: HttpProber) -> None:
    with serve(Page(headers=GOOD), tls.server_ctx) as port:
        with serve(Page(redirect_to=f"https://127.0.0.1:{port}/")) as http_port:
            result = await audit(prober, port, http_port=http_port)  # no ca_file: untrusted
    assert result.facts["cert_valid"] is False
    tests = result.facts["observatory"]["tests"]
    assert tests["strict-transport-security"] == "hsts-invalid-cert"
    assert tests["redirection"] == "redirection-invalid-cert"


async def test_universal_cors_and_insecure_cookie(
    tls: Tls, prober: HttpProber, closed_port: int
) -> None:
    page = Page(
        headers=[*GOOD, ("Set-Cookie", "sessionid=TOPSECRET; Path=/")],
        options_headers=[
            ("Access-Control-Allow-Origin", CORS_ORIGIN),
            ("Access-Control-Allow-Credentials", "true"),
        ],
    )
    with serve(page, tls.server_ctx) as port:
        result = await audit(prober, port, ca_file=tls.ca_file, http_port=closed_port)
    tests = result.facts["observatory"]["tests"]
    assert (
        tests["cross-origin-resource-sharing"]
        == "cross-origin-resource-sharing-implemented-with-universal-access"
    )
    assert tests["cookies"] == "cookies-session-without-httponly-flag"
    assert "TOPSECRET" not in json.dumps(result.to_dict())
    cors = next(f for f in result.findings if f.code == "headers.cross-origin-resource-sharing")
    assert cors.severity == "critical"
    assert "headers.cache-control" in codes(result)
    assert result.status is RunStatus.FAIL


async def test_meta_csp_and_foreign_scripts_from_the_body(
    tls: Tls, prober: HttpProber, closed_port: int
) -> None:
    body = (
        b"<html><head><meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\">"
        b"<meta name='referrer' content='unsafe-url'></head>"
        b"<script src='http://cdn.other.org/x.js'></script></html>"
    )
    headers = [h for h in GOOD if h[0] not in ("Content-Security-Policy", "Referrer-Policy")]
    with serve(Page(headers=headers, body=body), tls.server_ctx) as port:
        result = await audit(prober, port, ca_file=tls.ca_file, http_port=closed_port)
    tests = result.facts["observatory"]["tests"]
    assert tests["content-security-policy"] == "csp-implemented-with-no-unsafe-default-src-none"
    assert tests["referrer-policy"] == "referrer-policy-unsafe"
    assert (
        tests["subresource-integrity"]
        == "sri-not-implemented-and-external-scripts-not-loaded-securely"
    )
    assert tests["x-frame-options"] == "x-frame-options-not-implemented"


async def test_grade_bands_and_beyond_observatory(
    tls: Tls, prober: HttpProber, closed_port: int
) -> None:
    headers = [h for h in GOOD if h[0] != "Strict-Transport-Security"]
    headers += [
        ("Strict-Transport-Security", "max-age=15552000"),
        ("X-XSS-Protection", "1; mode=block"),
    ]
    with serve(Page(headers=headers), tls.server_ctx) as port:
        result = await audit(prober, port, "production", ca_file=tls.ca_file, http_port=closed_port)
    assert result.facts["observatory"]["grade"] == "A+"
    assert {
        "headers.hsts-max-age",
        "headers.hsts-include-subdomains",
        "headers.x-xss-protection",
    } <= codes(result)
    assert result.status is RunStatus.WARN  # extras warn but never fail
    facts = result.facts
    assert CHECK.evaluate(facts, HeadersOptions(min_grade="A+")).status is RunStatus.WARN
    bare = dict(
        facts,
        https=dict(
            facts["https"],
            headers=[
                ["Content-Type", "text/html"],
                ["X-Content-Type-Options", "nosniff"],
                ["Referrer-Policy", "no-referrer"],
            ],
        ),
    )
    # CSP -25, HSTS -20, XFO -20 -> 35 (D): fail for B, warn for D+, pass for D
    assert CHECK.evaluate(bare, HeadersOptions(min_grade="D+")).status is RunStatus.WARN
    assert CHECK.evaluate(bare, HeadersOptions(min_grade="D")).status is RunStatus.PASS
    assert CHECK.evaluate(bare, HeadersOptions(min_grade="C-")).status is RunStatus.FAIL


async def test_server_error_is_not_graded(tls: Tls, prober: HttpProber, closed_port: int) -> None:
    with serve(Page(status=500, headers=GOOD), tls.server_ctx) as port:
        result = await audit(prober, port, ca_file=tls.ca_file, http_port=closed_port)
    assert result.status is RunStatus.FAIL
    assert codes(result) == {"headers.http_status"}


async def test_nothing_listening_is_an_error(prober: HttpProber, closed_port: int) -> None:
    result = await audit(prober, closed_port, http_port=0)
    assert result.status is RunStatus.ERROR
    assert result.error_kind == "refused"


async def test_plain_http_only_site(prober: HttpProber) -> None:
    page = Page(
        headers=[("Content-Type", "text/html"), ("X-Frame-Options", "DENY")], body=b"<p>x</p>"
    )
    with serve(page) as port:
        target = Target("svc", f"http://127.0.0.1:{port}", "headers", "headers")
        options = HeadersOptions()
        result = await run_check(CHECK, target, options, prober=prober, timeout=5)
    tests = result.facts["observatory"]["tests"]
    if result.facts["errors"].get("https") is None:
        pytest.skip("something answers HTTPS on 127.0.0.1:443 here")
    assert tests["strict-transport-security"] == "hsts-not-implemented-no-https"
    assert tests["redirection"] == "redirection-missing"
    assert tests["x-frame-options"] == "x-frame-options-sameorigin-or-deny"
