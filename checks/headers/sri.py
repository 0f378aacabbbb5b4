"""The ``subresource-integrity`` test: classify every ``<script src>`` (rules §1.6 SRI).

``src`` is read as the engine's DOM reflects it with no base URL: absolute URLs are
normalised (scheme lowercased), anything relative stays as written, so a
protocol-relative ``//cdn`` script counts as foreign even on the same domain.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from checks.headers.html import HTML_TYPES, mime_type
from checks.headers.model import ScanInput, TestResult
from checks.headers.preload import registrable_domain

NAME = "subresource-integrity"
#: best first (the engine's ``goodness`` order for ``onlyIfWorse``)
ORDER = (
    "sri-implemented-and-all-scripts-loaded-securely",
    "sri-implemented-and-external-scripts-loaded-securely",
    "sri-implemented-but-external-scripts-not-loaded-securely",
    "sri-not-implemented-but-external-scripts-loaded-securely",
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    "sri-not-implemented-response-not-html",
)
PASSING = frozenset(
    {
        "sri-implemented-and-all-scripts-loaded-securely",
        "sri-implemented-and-external-scripts-loaded-securely",
        "sri-not-implemented-response-not-html",
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        "sri-not-implemented-but-no-scripts-loaded",
    }
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_PROTOCOL_RELATIVE = re.compile(r"^//[^/]")
_FULL_URL = re.compile(r"^https?://")
_C0_SPACE = "".join(chr(i) for i in range(0x21))


def reflect_src(raw: str) -> str:
    """``script.src`` for a document without a base URL (about:blank)."""
    stripped = raw.strip(_C0_SPACE)
    match = _SCHEME.match(stripped)
    if not match:
        return raw
    scheme = match.group(1).lower()
    rest = stripped[len(scheme) + 1 :]
    if scheme in ("http", "https"):
        rest = "//" + rest.lstrip("/\\")
    return f"{scheme}:{rest}"


def _worse(new: str, old: str | None) -> str:
    if old is None or ORDER.index(new) > ORDER.index(old):
        return new
    return old


def subresource_integrity(scan: ScanInput) -> TestResult:
    resp = scan.auto
    if resp is None:
        return TestResult(NAME, "sri-not-implemented-but-no-scripts-loaded", True)
    mime = mime_type(resp.get("content-type"))
    if mime and mime not in HTML_TYPES:
        return TestResult(NAME, "sri-not-implemented-response-not-html", True)
    if scan.html_parse_failed:
        return TestResult(NAME, "html-not-parseable", False)
    html = scan.html
    site_domain = registrable_domain(scan.hostname)
    result: str | None = None
    foreign_seen = False
    data: dict[str, dict[str, str | None]] = {}
    for script in html.scripts if html is not None else []:
        src = reflect_src(script.get("src") or "")
        if not src:
            continue
        integrity = script.get("integrity") or None
        relative_origin = relative_protocol = False
        if _PROTOCOL_RELATIVE.match(src):
            relative_protocol = same_domain = True
        elif _FULL_URL.match(src):
            same_domain = registrable_domain(urlsplit(src).hostname or "") == site_domain
        else:
            relative_origin = same_domain = True
        secure_origin = relative_origin or (same_domain and not relative_protocol)
        foreign_seen = foreign_seen or not secure_origin
        scheme = None if relative_protocol or relative_origin else urlsplit(src).scheme
        secure_scheme = scheme == "https" or (relative_origin and scan.site_is_https)
        if not secure_origin:
            data[src] = {"integrity": integrity, "crossorigin": script.get("crossorigin")}
            if integrity and not secure_scheme:
                result = _worse("sri-implemented-but-external-scripts-not-loaded-securely", result)
            elif not integrity and secure_scheme:
                result = _worse("sri-not-implemented-but-external-scripts-loaded-securely", result)
            elif not integrity:
                result = _worse(
                    "sri-not-implemented-and-external-scripts-not-loaded-securely", result
                )
        elif integrity and secure_scheme and result is None:
            result = "sri-implemented-and-all-scripts-loaded-securely"
    if html is None or html.script_count == 0:
        result = "sri-not-implemented-but-no-scripts-loaded"
    elif result is None:
        result = (
            "sri-implemented-and-external-scripts-loaded-securely"
            if foreign_seen
            else "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
        )
    return TestResult(NAME, result, result in PASSING, data)
