"""The ``cookies`` test: Set-Cookie parsing, session/anti-CSRF classification, worst wins.

Cookie values are secrets: :func:`redact` strips them before anything is stored, and
the test only ever reads names and attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from checks.headers.analyzers import strict_transport_security
from checks.headers.model import ScanInput, TestResult
from checks.headers.preload import PreloadLookup, is_preloaded

NAME = "cookies"
IGNORED = frozenset({"heroku-session-affinity"})
#: least bad first (the engine's ``goodness`` order for ``onlyIfWorse``)
ORDER = (
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
)
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Cookie:
    """What the jar keeps of one cookie (never its value)."""

    name: str
    secure: bool
    httponly: bool
    samesite: str | None
    domain: str | None
    path: str | None

    @property
    def is_session(self) -> bool:
        low = self.name.lower()
        return "login" in low or "sess" in low

    @property
    def is_anticsrf(self) -> bool:
        return "csrf" in self.name.lower()


def redact(set_cookie: str) -> str:
    """The Set-Cookie value with the cookie's value replaced, attributes kept."""
    pair, sep, rest = set_cookie.partition(";")
    name, eq, _ = pair.partition("=")
    return f"{name}{eq}{REDACTED if eq else ''}{sep}{rest}"


def parse_set_cookie(value: str) -> Cookie | None:
    """Parse one Set-Cookie value; None when it has no ``name=`` pair (browsers drop it)."""
    pair, *attrs = value.split(";")
    name, eq, _ = pair.partition("=")
    if not eq:
        return None
    secure = httponly = False
    samesite = domain = path = None
    for attr in attrs:
        key, _, val = attr.partition("=")
        key, val = key.strip().lower(), val.strip()
        if key == "secure":
            secure = True
        elif key == "httponly":
            httponly = True
        elif key == "samesite":
            samesite = val.lower() if val.lower() in ("lax", "strict", "none") else None
        elif key == "domain":
            domain = val.lstrip(".").lower() or None
        elif key == "path":
            path = val or None
    return Cookie(name.strip(), secure, httponly, samesite, domain, path)


def invalid_samesite(value: str) -> bool:
    """A ``SameSite`` attribute with no value or one other than lax/strict/none."""
    for part in value.strip().split(";"):
        key, _, val = part.strip().partition("=")
        if key.strip().lower() == "samesite":
            val = val.split("=")[0]
            if not val or val.strip().lower() not in ("lax", "strict", "none"):
                return True
    return False


def _domain_matches(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def jar(scan: ScanInput) -> list[Cookie]:
    """Cookies the engine's session jar would hold after the scan's requests."""
    sources: list[tuple[str, str]] = []
    if scan.auto is not None:
        sources += [(scan.auto.url, v) for v in scan.auto.all("set-cookie")]
    sources += list(scan.extra_cookies)
    kept: dict[tuple[str, str | None, str | None], Cookie] = {}
    for url, value in sources:
        cookie = parse_set_cookie(value)
        if cookie is None or not cookie.name or cookie.name in IGNORED:
            continue
        host = (urlsplit(url).hostname or "").lower()
        if cookie.domain and not _domain_matches(host, cookie.domain):
            continue  # the jar rejects cookies for a domain the response cannot set
        kept[(cookie.name, cookie.domain, cookie.path)] = cookie
    return list(kept.values())


def _worse(new: str, old: str | None) -> str:
    if old is None or ORDER.index(new) > ORDER.index(old):
        return new
    return old


def cookies(scan: ScanInput, preloaded: PreloadLookup = is_preloaded) -> TestResult:
    hsts = strict_transport_security(scan, preloaded).passed
    result: str | None = None
    if scan.auto is not None and any(invalid_samesite(v) for v in scan.auto.all("set-cookie")):
        result = "cookies-samesite-flag-invalid"
    found = jar(scan)
    if not found:
        return TestResult(NAME, "cookies-not-found", True)
    missing_samesite = False
    for c in found:
        if not c.secure and c.samesite == "none":
            result = _worse("cookies-samesite-flag-invalid", result)
        if not c.secure:
            flag = "cookies-without-secure-flag"
            result = _worse(flag + ("-but-protected-by-hsts" if hsts else ""), result)
        if c.is_anticsrf and not c.samesite:
            result = _worse("cookies-anticsrf-without-samesite-flag", result)
        if c.is_session and not c.secure:
            flag = "cookies-session-without-secure-flag"
            result = _worse(flag + ("-but-protected-by-hsts" if hsts else ""), result)
        if c.is_session and not c.httponly:
            result = _worse("cookies-session-without-httponly-flag", result)
        missing_samesite = missing_samesite or not c.samesite
    if result is None:
        result = (
            "cookies-secure-with-httponly-sessions"
            if missing_samesite
            else "cookies-secure-with-httponly-sessions-and-samesite"
        )
    passed = result in (
        "cookies-secure-with-httponly-sessions",
        "cookies-secure-with-httponly-sessions-and-samesite",
    )
    data = {
        c.name: {"secure": c.secure, "httponly": c.httponly, "samesite": c.samesite} for c in found
    }
    return TestResult(NAME, result, passed, data)
