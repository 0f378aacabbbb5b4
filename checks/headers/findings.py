"""Findings: one per failing Observatory test, plus the checks that go further than it.

Each message names the exact header to send, because the operator reading an alert
should be able to fix it without looking anything up. The "going further" findings are
kept out of the score so the grade stays comparable with the Observatory's.
"""

from __future__ import annotations

import re

from checks.base import Finding, Severity
from checks.headers.cookies import jar
from checks.headers.model import ScanInput, TestResult

ONE_YEAR = 31_536_000

BASE_SEVERITY: dict[str, str] = {
    "content-security-policy": Severity.HIGH,
    "cookies": Severity.HIGH,
    "cross-origin-resource-sharing": Severity.HIGH,
    "redirection": Severity.MEDIUM,
    "referrer-policy": Severity.LOW,
    "strict-transport-security": Severity.HIGH,
    "subresource-integrity": Severity.MEDIUM,
    "x-content-type-options": Severity.LOW,
    "x-frame-options": Severity.MEDIUM,
    "cross-origin-resource-policy": Severity.LOW,
}

ADVICE: dict[str, str] = {
    "content-security-policy": "send `Content-Security-Policy: default-src 'none'; script-src 'self'; "
    "style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'` (widen only to what the page loads; no "
    "'unsafe-inline', 'unsafe-eval', http: or wildcard sources, each directive once)",
    "cookies": "set every cookie `Secure` and `SameSite=Lax` (or Strict), session cookies also "
    "`HttpOnly`, e.g. `Set-Cookie: session=…; Path=/; Secure; HttpOnly; SameSite=Lax`",
    "cross-origin-resource-sharing": "never echo the request Origin together with "
    "`Access-Control-Allow-Credentials: true`; send `Access-Control-Allow-Origin` only for an "
    "allow-list of trusted origins",
    "redirection": "answer http:// with `301 Moved Permanently` and "
    "`Location: https://<same host>/…` straight to HTTPS on the same host",
    "referrer-policy": "send `Referrer-Policy: strict-origin-when-cross-origin` (or `no-referrer`)",
    "strict-transport-security": "send `Strict-Transport-Security: max-age=63072000; "
    "includeSubDomains` exactly once, over HTTPS with a valid certificate",
    "subresource-integrity": "load third-party scripts over https:// with "
    '`integrity="sha384-…" crossorigin="anonymous"`, or serve them from your own origin',
    "x-content-type-options": "send `X-Content-Type-Options: nosniff` exactly once",
    "x-frame-options": "send `Content-Security-Policy: frame-ancestors 'none'` (or "
    "`X-Frame-Options: DENY` exactly once)",
    "cross-origin-resource-policy": "send `Cross-Origin-Resource-Policy: same-origin` "
    "(or same-site) exactly once",
}

#: findings beyond the Observatory's tests and COOP/COEP (``extra_findings``)
EXTRA_CODES = (
    "permissions-policy", "x-xss-protection", "hsts-max-age", "hsts-include-subdomains",
    "cache-control",
)  # fmt: skip
CERT_ADVICE = "install a certificate that validates for this host (full chain, trusted root)"


def test_finding(test: TestResult, cert_error: str | None = None) -> Finding:
    """The finding for a failing test: ``headers.<test-name>``, with the fix; an
    ``-invalid-cert`` result names why verification failed (``cert_error``) and its fix."""
    severity = BASE_SEVERITY[test.name]
    if test.modifier <= -40:
        severity = Severity.CRITICAL
    advice = ADVICE[test.name]
    if test.result.endswith("invalid-cert"):
        advice = cert_error or CERT_ADVICE
    return Finding(
        f"headers.{test.name}",
        str(severity),
        f"{test.name}: {test.result} ({test.modifier:+d}); {advice}",
    )


# --- beyond the Observatory ---------------------------------------------------------------

_TOKEN = r"[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*"
_BARE = (
    rf"(?:{_TOKEN}|\"(?:[^\"\\]|\\[\"\\])*\"|-?\d{{1,15}}(?:\.\d{{1,3}})?|\?[01]|:[A-Za-z0-9+/=]*:)"
)
_ITEM = re.compile(rf"^({_BARE})((?:;\s*[a-z*][a-z0-9_\-.*]*(?:={_BARE})?)*)$")
NEXT_ALGORITHM = {
    "cross-origin-opener-policy": (
        "coop",
        ("same-origin", "same-origin-allow-popups", "noopener-allow-popups", "unsafe-none"),
        "same-origin",
    ),
    "cross-origin-embedder-policy": (
        "coep",
        ("require-corp", "credentialless", "unsafe-none"),
        "require-corp",
    ),
}


def structured_policy(values: list[str], allowed: tuple[str, ...]) -> str | None:
    """The policy token of a COOP/COEP header (RFC 8941 item), or None if invalid."""
    if len(values) != 1:
        return None
    match = _ITEM.match(values[0].strip(" "))
    if not match or match.group(1) not in allowed:
        return None
    return match.group(1)


def next_algorithm_results(scan: ScanInput) -> dict[str, str]:
    """COOP/COEP results as the Observatory's algorithm 6 names them (not scored here)."""
    out: dict[str, str] = {}
    for name, (prefix, allowed, _) in NEXT_ALGORITHM.items():
        values = scan.auto.all(name) if scan.auto else []
        if not values:
            out[name] = f"{prefix}-not-implemented"
            continue
        token = structured_policy(values, allowed)
        out[name] = f"{prefix}-implemented-with-{token}" if token else f"{prefix}-header-invalid"
    return out


def extra_findings(scan: ScanInput, hsts: TestResult, environment: str) -> list[Finding]:
    """Findings beyond the Observatory: Permissions-Policy, COOP/COEP, X-XSS-Protection,
    production HSTS strength, and ``Cache-Control: no-store`` with session cookies."""
    resp = scan.auto
    if resp is None:
        return []
    out: list[Finding] = []
    if not resp.all("permissions-policy"):
        out.append(
            Finding(
                "headers.permissions-policy",
                Severity.LOW,
                "Permissions-Policy is missing; send e.g. `Permissions-Policy: camera=(), "
                "microphone=(), geolocation=(), payment=()` listing only the features the app uses",
            )
        )
    for name, result in next_algorithm_results(scan).items():
        fix = f"send `{name.title()}: {NEXT_ALGORITHM[name][2]}` exactly once"
        if result.endswith("not-implemented"):
            out.append(Finding(f"headers.{name}", Severity.INFO, f"{name} is missing; {fix}"))
        elif result.endswith("header-invalid"):
            out.append(Finding(f"headers.{name}", Severity.LOW, f"{name} is invalid; {fix}"))
    xxss = resp.get("x-xss-protection")
    if xxss is not None and xxss.strip() != "0":
        out.append(
            Finding(
                "headers.x-xss-protection",
                Severity.LOW,
                f"X-XSS-Protection: {xxss[:64]} is discouraged; send `X-XSS-Protection: 0` "
                "or drop the header (rely on Content-Security-Policy)",
            )
        )
    out += _hsts_findings(hsts, environment)
    sessions = [c.name for c in jar(ScanInput(scan.hostname, https=resp)) if c.is_session]
    cache = (resp.get("cache-control") or "").lower()
    if sessions and "no-store" not in cache:
        out.append(
            Finding(
                "headers.cache-control",
                Severity.MEDIUM,
                f"the response sets session cookie {sessions[0]} but is cacheable; "
                "send `Cache-Control: no-store`",
            )
        )
    return out


def _hsts_findings(hsts: TestResult, environment: str) -> list[Finding]:
    if environment != "production" or not hsts.result.startswith("hsts-implemented"):
        return []
    data = hsts.data or {}
    out = []
    max_age = data.get("max_age")
    if max_age is not None and max_age < ONE_YEAR:
        out.append(
            Finding(
                "headers.hsts-max-age",
                Severity.MEDIUM,
                f"HSTS max-age={max_age} is under one year on a production service; send "
                "`Strict-Transport-Security: max-age=63072000; includeSubDomains`",
            )
        )
    if not data.get("include_subdomains"):
        out.append(
            Finding(
                "headers.hsts-include-subdomains",
                Severity.MEDIUM,
                "HSTS lacks includeSubDomains on a production service; send "
                "`Strict-Transport-Security: max-age=63072000; includeSubDomains`",
            )
        )
    return out
