"""Whole-scan grading: the bonus-only-at-90 rule, clamping, the chart, full responses."""

from __future__ import annotations

import pytest

from checks.headers.model import SCORE_TABLE, TestResult, grade_for_score
from checks.headers.observatory import TEST_NAMES, aggregate, grade, grade_response

from .helpers import URL, make_scan, never_preloaded

P = pytest.param


def results(*names: str) -> list[TestResult]:
    return [TestResult("t", n, SCORE_TABLE[n] >= 0) for n in names]


@pytest.mark.parametrize(
    ("names", "score", "letter"),
    [
        P([], 100, "A+", id="nothing-is-100"),
        P(["corp-implemented-with-same-origin"], 110, "A+", id="110-a-plus"),
        P(
            [
                "x-content-type-options-not-implemented",
                "referrer-policy-unsafe",
                "csp-implemented-with-no-unsafe-default-src-none",
            ],
            100,
            "A+",
            id="bonus-at-exactly-90",
        ),
        P(
            [
                "x-content-type-options-not-implemented",
                "redirection-off-host-from-http",
                "referrer-policy-unsafe",
                "csp-implemented-with-no-unsafe-default-src-none",
                "corp-implemented-with-same-origin",
            ],
            85,
            "A-",
            id="no-bonus-at-85",
        ),
        P(
            ["sri-not-implemented-and-external-scripts-not-loaded-securely"] * 3,
            0,
            "F",
            id="negative-clamped",
        ),
        P(
            ["hsts-not-implemented", "hsts-implemented-max-age-less-than-six-months"],
            70,
            "B",
            id="b",
        ),
        P(
            ["cookies-session-without-secure-flag", "x-content-type-options-not-implemented"],
            55,
            "C",
            id="c",
        ),
    ],
)
def test_aggregate(names: list[str], score: int, letter: str) -> None:
    assert aggregate(results(*names)) == (score, letter)


@pytest.mark.parametrize(
    ("score", "letter"),
    [
        (150, "A+"),
        (100, "A+"),
        (99, "A"),
        (90, "A"),
        (89, "A-"),
        (85, "A-"),
        (84, "B+"),
        (80, "B+"),
        (79, "B"),
        (70, "B"),
        (69, "B-"),
        (65, "B-"),
        (64, "C+"),
        (60, "C+"),
        (59, "C"),
        (50, "C"),
        (49, "C-"),
        (45, "C-"),
        (44, "D+"),
        (40, "D+"),
        (39, "D"),
        (30, "D"),
        (29, "D-"),
        (25, "D-"),
        (24, "F"),
        (0, "F"),
    ],
)
def test_grade_chart(score: int, letter: str) -> None:
    assert grade_for_score(score) == letter


BEST = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; frame-ancestors 'none'"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Set-Cookie", "session=x; Secure; HttpOnly; SameSite=Strict"),
]
BEST_BODY = b'<script src="https://cdn.other.org/a.js" integrity="sha384-abc"></script>'


def test_best_possible_response_scores_145() -> None:
    facts = grade_response(URL, 200, BEST, BEST_BODY, preloaded=lambda h: True)
    assert (facts["score"], facts["grade"]) == (145, "A+")
    assert list(facts["tests"]) == list(TEST_NAMES)


def test_bare_response_scores_30_d() -> None:
    facts = grade_response(
        URL, 200, [("Content-Type", "text/html")], b"", preloaded=never_preloaded
    )
    assert (facts["score"], facts["grade"]) == (30, "D")
    assert facts["tests"]["content-security-policy"] == "csp-not-implemented"


def test_bonuses_dropped_below_90() -> None:
    headers = [h for h in BEST if h[0] != "X-Frame-Options"]
    headers = [*headers[:1], *[h for h in headers[1:] if h[0] != "Content-Security-Policy"]]
    facts = grade_response(URL, 200, headers, BEST_BODY, preloaded=never_preloaded)
    # CSP -25 and XFO -20 leave 55: no bonus for cookies, referrer, SRI or CORP
    assert (facts["score"], facts["grade"]) == (55, "C")


def test_grade_response_with_redirect_chain_and_cors() -> None:
    facts = grade_response(
        URL,
        200,
        BEST,
        BEST_BODY,
        http_route=["http://example.com/", "https://www.example.com/"],
        cors_headers=[("Access-Control-Allow-Origin", "*")],
        preloaded=never_preloaded,
    )
    assert facts["tests"]["redirection"] == "redirection-off-host-from-http"
    assert facts["tests"]["cross-origin-resource-sharing"] == (
        "cross-origin-resource-sharing-implemented-with-public-access"
    )
    assert facts["score"] == 140 - 5


@pytest.mark.parametrize("status", [101, 404, 500])
def test_ungradable_status(status: int) -> None:
    with pytest.raises(ValueError):
        grade_response(URL, status, [], b"")


def test_401_and_403_are_graded() -> None:
    assert grade_response(URL, 401, [], b"", preloaded=never_preloaded)["grade"] == "D"


def test_invalid_cert_results() -> None:
    scan = make_scan(BEST, verified=False, route=["http://example.com/", URL], http_verified=False)
    tests = grade(scan, never_preloaded).tests
    assert tests["strict-transport-security"].result == "hsts-invalid-cert"
    assert tests["redirection"].result == "redirection-invalid-cert"
