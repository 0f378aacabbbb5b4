"""The header tests other than CSP, cookies and SRI (observatory-rules.md §1.6).

Each function takes the whole :class:`ScanInput` (some tests read another test's
outcome, as the engine's do) and returns a :class:`TestResult`. Header values are read
the way Node hands them to the engine: repeated headers joined with ``", "``, which is
why a duplicated ``X-Frame-Options: DENY`` is invalid.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from checks.headers.csp_rules import content_security_policy
from checks.headers.html import is_html
from checks.headers.model import CORS_ORIGIN, ScanInput, TestResult
from checks.headers.preload import PreloadLookup, is_preloaded

SIX_MONTHS = 15_552_000
REFERRER_GOOD = ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin")
REFERRER_BAD = ("origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade")


def _parse_int(text: str) -> int | None:
    """``Number.parseInt(text, 10)``: leading digits after optional sign, else None (NaN)."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


def strict_transport_security(
    scan: ScanInput, preloaded: PreloadLookup = is_preloaded
) -> TestResult:
    name = "strict-transport-security"
    resp = scan.https
    data: dict[str, object] = {"max_age": None, "include_subdomains": False, "preload": False}
    if resp is None:
        result = "hsts-not-implemented-no-https"
    elif not resp.verified:
        result = "hsts-invalid-cert"
    elif resp.all("strict-transport-security"):
        header = (resp.get("strict-transport-security") or "")[:1024]
        result = "hsts-header-invalid"
        if "," not in header:
            max_age: int | None = None
            seen_max_age = False
            for param in (p.strip().lower() for p in header.split(";")):
                if param.startswith("max-age="):
                    # parseInt gives NaN for junk; NaN < six months is false in the engine
                    seen_max_age = True
                    max_age = _parse_int(param[8:128])
                    data["max_age"] = max_age
                elif param == "includesubdomains":
                    data["include_subdomains"] = True
                elif param == "preload":
                    data["preload"] = True
            if seen_max_age:
                result = (
                    "hsts-implemented-max-age-less-than-six-months"
                    if max_age is not None and max_age < SIX_MONTHS
                    else "hsts-implemented-max-age-at-least-six-months"
                )
    else:
        result = "hsts-not-implemented"
    if resp is not None and preloaded(scan.hostname):
        result = "hsts-preloaded"
    passed = result in ("hsts-implemented-max-age-at-least-six-months", "hsts-preloaded")
    return TestResult(name, result, passed, data)


def redirection(scan: ScanInput, preloaded: PreloadLookup = is_preloaded) -> TestResult:
    name = "redirection"
    resp, route = scan.http, scan.http_route
    parts = [urlsplit(u) for u in route]
    if resp is None:
        result = "redirection-not-needed-no-http"
    elif not resp.verified:
        result = "redirection-invalid-cert"
    elif all(preloaded(p.hostname or "") for p in parts):
        result = "redirection-all-redirects-preloaded"
    elif len(parts) == 1:
        result = "redirection-missing"
    elif parts[-1].scheme != "https":
        result = "redirection-not-to-https"
    elif parts[1].scheme == "http":
        result = "redirection-not-to-https-on-initial-redirection"
    elif (
        parts[0].scheme == "http"
        and parts[1].scheme == "https"
        and parts[0].hostname != parts[1].hostname
    ):
        result = "redirection-off-host-from-http"
    else:
        result = "redirection-to-https"
    passed = result in (
        "redirection-to-https",
        "redirection-not-needed-no-http",
        "redirection-all-redirects-preloaded",
    )
    return TestResult(name, result, passed, {"route": list(route)})


def cross_origin_resource_sharing(scan: ScanInput) -> TestResult:
    name = "cross-origin-resource-sharing"
    result = "cross-origin-resource-sharing-not-implemented"
    acao = scan.cors.get("access-control-allow-origin") if scan.cors else None
    if scan.cors is not None and acao:
        creds = scan.cors.get("access-control-allow-credentials")
        if acao[:256].strip().lower() == "*":
            result = "cross-origin-resource-sharing-implemented-with-public-access"
        elif acao == CORS_ORIGIN and creds and creds.lower().strip() == "true":
            result = "cross-origin-resource-sharing-implemented-with-universal-access"
        else:
            result = "cross-origin-resource-sharing-implemented-with-restricted-access"
    passed = result != "cross-origin-resource-sharing-implemented-with-universal-access"
    return TestResult(name, result, passed, acao)


def referrer_policy(scan: ScanInput) -> TestResult:
    name = "referrer-policy"
    resp = scan.auto
    if resp is None:
        return TestResult(name, "referrer-policy-not-implemented", False)
    values = resp.all("referrer-policy")
    if scan.html is not None and is_html(resp.get("content-type")):
        values = [*values, *scan.html.referrer_meta]
    if not values:
        return TestResult(name, "referrer-policy-not-implemented", True)
    data = ", ".join(values)
    valid = [
        t.strip().lower()
        for t in data.split(",")
        if t.strip().lower() in (*REFERRER_GOOD, *REFERRER_BAD)
    ]
    policy = valid[-1] if valid else ""
    if policy in REFERRER_GOOD:
        result = "referrer-policy-private"
    elif policy in REFERRER_BAD:
        result = "referrer-policy-unsafe"
    else:
        result = "referrer-policy-header-invalid"
    return TestResult(name, result, result == "referrer-policy-private", data)


def x_content_type_options(scan: ScanInput) -> TestResult:
    name = "x-content-type-options"
    header = scan.auto.get("x-content-type-options") if scan.auto else None
    if not header:
        result = "x-content-type-options-not-implemented"
    elif header[:256].strip().lower() == "nosniff":
        result = "x-content-type-options-nosniff"
    else:
        result = "x-content-type-options-header-invalid"
    return TestResult(name, result, result == "x-content-type-options-nosniff", header)


def x_frame_options(scan: ScanInput) -> TestResult:
    name = "x-frame-options"
    if scan.auto is None:
        return TestResult(name, "x-frame-options-not-implemented", False)
    header = scan.auto.get("x-frame-options")
    if not header:
        result = "x-frame-options-not-implemented"
    else:
        xfo = header[:1024].strip().lower()
        if xfo in ("deny", "sameorigin"):
            result = "x-frame-options-sameorigin-or-deny"
        elif xfo.startswith("allow-from"):
            result = "x-frame-options-allow-from-origin"
        else:
            result = "x-frame-options-header-invalid"
    csp = content_security_policy(scan).data
    if csp and "frame-ancestors" in csp["directives"]:
        result = "x-frame-options-implemented-via-csp"
    passed = result not in ("x-frame-options-not-implemented", "x-frame-options-header-invalid")
    return TestResult(name, result, passed, header)


def cross_origin_resource_policy(scan: ScanInput) -> TestResult:
    name = "cross-origin-resource-policy"
    resp = scan.auto
    value: str | None = None
    if resp is not None:
        header = resp.get("cross-origin-resource-policy")
        html_ok = scan.html is not None and is_html(resp.get("content-type"))
        meta = scan.html.corp_meta if scan.html is not None and html_ok else []
        if header:
            value = header[:256].strip().lower()
        elif meta and meta[-1]:
            value = meta[-1][:256].strip().lower()
    results = {
        "same-site": "corp-implemented-with-same-site",
        "same-origin": "corp-implemented-with-same-origin",
        "cross-origin": "corp-implemented-with-cross-origin",
    }
    result = results.get(value, "corp-header-invalid") if value else "corp-not-implemented"
    return TestResult(name, result, result != "corp-header-invalid", value)
