"""The grader's input and output, the score table and the grade chart (algorithm 5).

Kept apart from the tests so both the check (from stored facts) and other code (from a
Flask test client's response) can build a :class:`ScanInput` and grade it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.headers.html import HtmlScan

ALGORITHM_VERSION = 5
CORS_ORIGIN = "https://http-observatory.security.mozilla.org"
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90

SCORE_TABLE: dict[str, int] = {
    # content-security-policy
    "csp-implemented-with-no-unsafe-default-src-none": 10,
    "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-but-duplicate-directives": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10,
    "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-unsafe-inline": -20,
    "csp-implemented-with-insecure-scheme": -20,
    "csp-header-invalid": -25,
    "csp-not-implemented": -25,
    "csp-not-implemented-but-reporting-enabled": -25,
    # cookies
    "cookies-secure-with-httponly-sessions-and-samesite": 5,
    "cookies-secure-with-httponly-sessions": 0,
    "cookies-not-found": 0,
    "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10,
    "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20,
    "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30,
    "cookies-session-without-secure-flag": -40,
    # cross-origin-resource-sharing
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    # redirection
    "redirection-all-redirects-preloaded": 0,
    "redirection-to-https": 0,
    "redirection-not-needed-no-http": 0,
    "redirection-off-host-from-http": -5,
    "redirection-not-to-https-on-initial-redirection": -10,
    "redirection-not-to-https": -20,
    "redirection-missing": -20,
    "redirection-invalid-cert": -20,
    # referrer-policy
    "referrer-policy-private": 5,
    "referrer-policy-not-implemented": 0,
    "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    # strict-transport-security
    "hsts-preloaded": 5,
    "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10,
    "hsts-not-implemented": -20,
    "hsts-header-invalid": -20,
    "hsts-not-implemented-no-https": -20,
    "hsts-invalid-cert": -20,
    # subresource-integrity
    "sri-implemented-and-all-scripts-loaded-securely": 5,
    "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-response-not-html": 0,
    "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    "html-not-parseable": -20,
    # x-content-type-options
    "x-content-type-options-nosniff": 0,
    "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    # x-frame-options (algorithm 5: sameorigin-or-deny is +5)
    "x-frame-options-implemented-via-csp": 5,
    "x-frame-options-sameorigin-or-deny": 5,
    "x-frame-options-allow-from-origin": 0,
    "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
    # cross-origin-resource-policy
    "corp-implemented-with-same-origin": 10,
    "corp-implemented-with-same-site": 10,
    "corp-implemented-with-cross-origin": 0,
    "corp-not-implemented": 0,
    "corp-header-invalid": -5,
}

#: (lowest score, grade), best first; scores are floored to a multiple of 5 and capped at 100
GRADE_CHART: tuple[tuple[int, str], ...] = (
    (100, "A+"),
    (90, "A"),
    (85, "A-"),
    (80, "B+"),
    (70, "B"),
    (65, "B-"),
    (60, "C+"),
    (50, "C"),
    (45, "C-"),
    (40, "D+"),
    (30, "D"),
    (25, "D-"),
    (0, "F"),
)
GRADES: tuple[str, ...] = tuple(g for _, g in GRADE_CHART)


def grade_for_score(score: int) -> str:
    """The letter for a (clamped) score, via the engine's floor-to-5 lookup."""
    lookup = min(score - score % 5, 100)
    for floor, grade in GRADE_CHART:
        if lookup >= floor:
            return grade
    return "F"


def grade_rank(grade: str) -> int:
    """0 for A+, larger is worse; ValueError for something that is not a grade."""
    return GRADES.index(grade)


@dataclass
class Resp:
    """One final response of a session: where it ended, its status and headers."""

    url: str
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    verified: bool = True

    def all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    def get(self, name: str) -> str | None:
        """Node's view of a header: repeated values joined with ", " (None if absent)."""
        values = self.all(name)
        return ", ".join(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "headers": [[k, v] for k, v in self.headers],
            "verified": self.verified,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Resp | None:
        if not data:
            return None
        return cls(
            url=str(data["url"]),
            status=int(data["status"]),
            headers=[(str(k), str(v)) for k, v in data.get("headers", [])],
            verified=bool(data.get("verified", True)),
        )


@dataclass
class ScanInput:
    """Everything the ten tests read (the engine's ``Requests``), free of I/O.

    ``https``/``http`` are the final responses of the sessions started at the https://
    and http:// URLs (None when that scheme did not answer); ``http_route`` lists every
    URL the http session visited, initial first. ``html`` is the scan of the main
    body (None when it was not parsed). ``extra_cookies`` are ``(url, Set-Cookie)``
    pairs seen on the scan's other requests (robots.txt, the CORS preflight).
    """

    hostname: str
    https: Resp | None = None
    http: Resp | None = None
    http_route: list[str] = field(default_factory=list)
    cors: Resp | None = None
    html: HtmlScan | None = None
    html_parse_failed: bool = False
    extra_cookies: list[tuple[str, str]] = field(default_factory=list)

    @property
    def auto(self) -> Resp | None:
        """The response the content tests grade: https when it answered, else http."""
        return self.https if self.https is not None else self.http

    @property
    def site_is_https(self) -> bool:
        return self.https is not None


@dataclass(frozen=True)
class TestResult:
    """One test's outcome: result name, its modifier and whether it passed."""

    __test__ = False  # not a pytest class, despite the name

    name: str
    result: str
    passed: bool
    data: Any = None

    @property
    def modifier(self) -> int:
        return SCORE_TABLE[self.result]


@dataclass(frozen=True)
class ObservatoryResult:
    """The grade of one scan, shaped like the facts contract (DESIGN §3)."""

    score: int
    grade: str
    tests: dict[str, TestResult]

    def to_facts(self) -> dict[str, Any]:
        """``{"score", "grade", "tests": {name: result}}`` (contract)."""
        return {
            "score": self.score,
            "grade": self.grade,
            "tests": {name: t.result for name, t in self.tests.items()},
        }
