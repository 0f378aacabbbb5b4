"""Grade a scan like the HTTP Observatory (JS engine, algorithm 5): ten tests, one score.

Aggregation (rules §1.1): bonuses count only when the penalties alone leave at least 90;
the score is clamped at 0 but not at 100; the grade floors it to a multiple of 5.
:func:`grade_response` grades one in-memory response (e.g. from a Flask test client)
without any network, so the auditor can assert its own pages score A+.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from checks.headers.analyzers import (
    cross_origin_resource_policy,
    cross_origin_resource_sharing,
    redirection,
    referrer_policy,
    strict_transport_security,
    x_content_type_options,
    x_frame_options,
)
from checks.headers.cookies import cookies
from checks.headers.csp_rules import content_security_policy
from checks.headers.html import HTML_TYPES, decode_body, mime_type, scan_html
from checks.headers.model import (
    MINIMUM_SCORE_FOR_EXTRA_CREDIT,
    ObservatoryResult,
    Resp,
    ScanInput,
    TestResult,
    grade_for_score,
)
from checks.headers.preload import PreloadLookup, is_preloaded
from checks.headers.sri import subresource_integrity

#: the engine's test order (algorithm 5)
TEST_NAMES: tuple[str, ...] = (
    "content-security-policy",
    "cookies",
    "cross-origin-resource-sharing",
    "redirection",
    "referrer-policy",
    "strict-transport-security",
    "subresource-integrity",
    "x-content-type-options",
    "x-frame-options",
    "cross-origin-resource-policy",
)


def run_tests(scan: ScanInput, preloaded: PreloadLookup = is_preloaded) -> list[TestResult]:
    """All ten test results, in the engine's order."""
    return [
        content_security_policy(scan),
        cookies(scan, preloaded),
        cross_origin_resource_sharing(scan),
        redirection(scan, preloaded),
        referrer_policy(scan),
        strict_transport_security(scan, preloaded),
        subresource_integrity(scan),
        x_content_type_options(scan),
        x_frame_options(scan),
        cross_origin_resource_policy(scan),
    ]


def aggregate(results: Iterable[TestResult]) -> tuple[int, str]:
    """(score, grade) from test results: the bonus-only-at-90 rule and the chart."""
    with_extra = uncurved = 100
    for result in results:
        with_extra += result.modifier
        if result.modifier < 0:
            uncurved += result.modifier
    score = with_extra if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved
    score = max(score, 0)
    return score, grade_for_score(score)


def gradable_status(status: int) -> bool:
    """The engine refuses to grade a main response below 200 or an error other than 401/403."""
    return 200 <= status < 400 or status in (401, 403)


def grade(scan: ScanInput, preloaded: PreloadLookup = is_preloaded) -> ObservatoryResult:
    """Grade a scan; the caller checks :func:`gradable_status` first if it cares."""
    results = run_tests(scan, preloaded)
    score, letter = aggregate(results)
    return ObservatoryResult(score, letter, {r.name: r for r in results})


def html_for(headers: list[tuple[str, str]], body: bytes) -> tuple[Any, bool]:
    """Scan the body when the engine would (HTML type, or no type at all)."""
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    mime = mime_type(content_type)
    if mime and mime not in HTML_TYPES:
        return None, False
    try:
        return scan_html(decode_body(body, content_type)), False
    except Exception:  # the stdlib parser is lenient; this is a last resort
        return None, True


def grade_response(
    url: str,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    cors_headers: list[tuple[str, str]] | None = None,
    http_route: list[str] | None = None,
    cert_valid: bool = True,
    preloaded: PreloadLookup | Callable[[str], bool] = is_preloaded,
) -> dict[str, Any]:
    """Grade one response held in memory; returns the facts' ``observatory`` dict.

    ``url`` is where the response came from (its scheme decides whether HTTPS tests
    apply). ``cors_headers`` are the headers answered to the Observatory's preflight
    (None: no preflight answer). ``http_route`` is the redirect chain from ``http://``
    (None: no plain-HTTP endpoint, which the Observatory does not penalise).
    Raises ValueError for a status the Observatory refuses to grade.
    """
    if not gradable_status(status):
        raise ValueError(f"the Observatory does not grade a {status} response")
    parts = urlsplit(url)
    resp = Resp(url, status, list(headers), verified=cert_valid)
    html, failed = html_for(headers, body)
    scan = ScanInput(
        hostname=parts.hostname or "",
        https=resp if parts.scheme == "https" else None,
        http=None if parts.scheme == "https" else resp,
        http_route=[url] if parts.scheme != "https" else [],
        cors=Resp(url, 200, list(cors_headers)) if cors_headers is not None else None,
        html=html,
        html_parse_failed=failed,
    )
    if http_route is not None and parts.scheme == "https":
        scan.http = Resp(http_route[-1], status, [], verified=cert_valid)
        scan.http_route = list(http_route)
    return grade(scan, preloaded).to_facts()
