"""Signatures of leaked stack traces, framework debug pages and version banners (pure).

A response body is scanned twice: once raw (for HTML markers of debug pages) and once
"flattened" (entities unescaped, ``<br>`` as newlines, JSON-escaped quotes undone) so a
trace embedded in an HTML ``<pre>`` or a JSON ``"trace"`` field still matches the frame
patterns. Frame patterns need several frames, so one stray "at foo (bar.js:1:2)" in
documentation text does not count. Only signature *names* leave this module: the matched
text can hold secrets and is never stored.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

STACK_TRACE = "stack_trace"
DEBUG_PAGE = "debug_page"
#: a debugger that runs code typed into the browser (Werkzeug with ``evalex``): remote code
#: execution for whoever finds the page, so it is its own, critical, finding
INTERACTIVE_DEBUGGER = "interactive_debugger"
#: a debug 404 that lists the application's URL patterns (Django ``DEBUG = True``)
URL_PATTERNS = "url_patterns"


@dataclass(frozen=True)
class Signature:
    code: str  # STACK_TRACE, DEBUG_PAGE, INTERACTIVE_DEBUGGER or URL_PATTERNS
    name: str
    pattern: re.Pattern[str]
    min_matches: int = 1


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.MULTILINE)


STACK_TRACES: tuple[Signature, ...] = (
    Signature(STACK_TRACE, "Python traceback", _re(r"Traceback \(most recent call last\):")),
    Signature(STACK_TRACE, "Python traceback", _re(r'File "[^"\n]+", line \d+, in \S+'), 2),
    Signature(
        STACK_TRACE,
        "Java stack trace",
        _re(
            r"\bat [\w$]+(?:\.[\w$<>]+)+\((?:[\w$]+\.(?:java|kt|scala|groovy):\d+"
            r"|Native Method|Unknown Source)\)"
        ),
        2,
    ),
    Signature(STACK_TRACE, "Java stack trace", _re(r'Exception in thread "[^"]+" [\w.$]+')),
    Signature(
        STACK_TRACE,
        "Node.js stack trace",
        _re(r"^[ \t]*at (?:[^\n()]{1,200} \()?(?:/|[A-Za-z]:\\|file://|node:)[^()\s]*:\d+:\d+\)?"),
        2,
    ),
    Signature(
        STACK_TRACE, "Ruby backtrace", _re(r"(?<![\w./-])[\w./-]+\.rb:\d+:in [`'][^'`\n]+'"), 2
    ),
    Signature(
        STACK_TRACE,
        "PHP error",
        _re(
            r"(?:Fatal error|Parse error|Uncaught [\w\\]+):.{0,500}? in "
            r"(?:<b>)?[^<\n]+\.php(?:</b>)?(?: on line |:)(?:<b>)?\d+"
        ),
    ),
    Signature(STACK_TRACE, "PHP stack trace", _re(r"^#\d+ [^\n]+\.php\(\d+\): "), 2),
    Signature(
        STACK_TRACE,
        ".NET stack trace",
        _re(r"\bat [\w.<>`\[\]]+\([^)\n]*\) in [^\n]+\.(?:cs|vb|fs):line \d+"),
    ),
    Signature(
        STACK_TRACE,
        ".NET stack trace",
        _re(r"^[ \t]*at (?:System|Microsoft)\.[\w.<>`]+\([^)\n]*\)"),
        2,
    ),
    Signature(STACK_TRACE, "Go panic", _re(r"goroutine \d+ \[running\]:")),
)

DEBUG_PAGES: tuple[Signature, ...] = (
    Signature(
        DEBUG_PAGE,
        "Werkzeug debugger",
        _re(
            r"The debugger caught an exception in your WSGI application"
            r"|<div class=\"debugger\">|__debugger__=yes|Werkzeug Debugger"
        ),
    ),
    Signature(
        DEBUG_PAGE,
        "Django debug page",
        _re(
            r"seeing this error because you have\s*(?:<code>)?\s*DEBUG = True|<th>Django Version:</th>"
        ),
    ),
    Signature(
        DEBUG_PAGE,
        "Rails debug page",
        _re(
            r"Action Controller: Exception caught|Rails\.root:|Application Trace \| Framework Trace"
        ),
    ),
    Signature(
        DEBUG_PAGE,
        "Laravel Ignition",
        _re(
            r"window\.ignite\s*\(|@facade/ignition|spatie/laravel-ignition|ignition-(?:config|data)"
            r"|Whoops! There was an error\."
        ),
    ),
    Signature(
        DEBUG_PAGE,
        "Symfony debug page",
        _re(
            r"<div class=\"exception-message-wrapper\">|sf-toolbar|Symfony\\Component\\ErrorHandler"
        ),
    ),
    Signature(
        DEBUG_PAGE,
        "Express default error handler",
        _re(r"<pre>[^<]*(?:<br>\s*(?:&nbsp;\s*)+at [^<]+){2}"),
    ),
    Signature(
        DEBUG_PAGE,
        "ASP.NET error page",
        _re(
            r"Server Error in '[^'\n]*' Application|<b>\s*Stack Trace:\s*</b>"
            r"|An unhandled exception occurred while processing the request\."
        ),
    ),
    Signature(
        DEBUG_PAGE, "Spring Boot Whitelabel trace", _re(r"Whitelabel Error Page.{0,2000}?\tat ")
    ),
)

#: checked before DEBUG_PAGES; a hit here replaces the debug-page hit of the same framework
LIVE_DEBUG: tuple[tuple[Signature, str], ...] = (
    (
        Signature(
            INTERACTIVE_DEBUGGER,
            "Werkzeug debugger with EVALEX",
            _re(r"\bEVALEX\s*=\s*true\b|\bCONSOLE_MODE\s*=\s*true\b"),
        ),
        "Werkzeug debugger",
    ),
    (
        Signature(
            URL_PATTERNS,
            "Django technical 404",
            _re(r"Django tried these URL patterns|Using the URLconf defined in\s*<code>"),
        ),
        "Django debug page",
    ),
)

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def flatten(body: str) -> str:
    """Plain text a trace pattern can match: HTML breaks/entities and JSON escapes undone."""
    text = _BR.sub("\n", body)
    text = html.unescape(text).replace("\xa0", " ")
    return text.replace("\\n", "\n").replace("\\t", "\t").replace('\\"', '"').replace("\\\\", "\\")


def _hits(signatures: Iterable[Signature], text: str) -> list[str]:
    names: list[str] = []
    for sig in signatures:
        if sig.name in names:
            continue
        for count, _ in enumerate(sig.pattern.finditer(text), start=1):
            if count >= sig.min_matches:
                names.append(sig.name)
                break
    return names


def scan_body(body: str) -> list[dict[str, str]]:
    """``[{"code", "name"}]`` for one response body.

    A debug page already contains the trace it shows, so when one matches, stack-trace
    hits in the same body are not reported separately (one finding per real problem).
    """
    live = [(sig, hides) for sig, hides in LIVE_DEBUG if _hits((sig,), body)]
    hidden = {hides for _, hides in live}
    pages = [n for n in _hits(DEBUG_PAGES, body) if n not in hidden]
    if live or pages:
        return [{"code": sig.code, "name": sig.name} for sig, _ in live] + [
            {"code": DEBUG_PAGE, "name": n} for n in pages
        ]
    return [{"code": STACK_TRACE, "name": n} for n in _hits(STACK_TRACES, flatten(body))]


# --- version banners ------------------------------------------------------------------

BANNER_HEADERS = (
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
    "x-generator",
)
_VERSION = re.compile(r"[A-Za-z][\w.+-]*/v?\d+(?:\.\d+)*|\bv?\d+\.\d+(?:\.\d+)*\b")


#: headers only an application framework sends: naming the framework is already a hint
#: (``X-Powered-By: Express``); ``Server: nginx`` without a version is what a hardened server
#: sends (``server_tokens off``), so a bare ``Server`` product is not reported
FRAMEWORK_HEADERS = ("x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator")


def version_banners(headers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Headers that disclose a software *version* (a bare product name is not reported)."""
    return _banners(headers, BANNER_HEADERS, versioned=True)


def framework_banners(headers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """Framework headers that name a product *without* a version (``X-Powered-By: Express``)."""
    return _banners(headers, FRAMEWORK_HEADERS, versioned=False)


def _banners(
    headers: Iterable[tuple[str, str]], names: tuple[str, ...], *, versioned: bool
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for key, value in headers:
        low = key.lower()
        if low in names and value.strip() and bool(_VERSION.search(value)) == versioned:
            item = {"header": low, "value": value[:200]}
            if item not in out:
                out.append(item)
    return out


# --- default install pages ------------------------------------------------------------

DEFAULT_PAGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("nginx welcome page", _re(r"<title>Welcome to nginx!</title>")),
    (
        "Apache default page",
        _re(
            r"<title>Apache2 (?:Debian|Ubuntu) Default Page|<html><body><h1>It works!</h1>"
            r"|<title>(?:HTTP Server )?Test Page for the (?:Apache|HTTP Server)"
        ),
    ),
    ("IIS welcome page", _re(r"<title>IIS Windows(?: Server)?</title>|<img src=\"iisstart\.png\"")),
    ("Caddy welcome page", _re(r"<title>Caddy works!</title>")),
)


def default_page(body: str) -> str | None:
    """The name of the web server whose stock install page ``body`` is, if it is one."""
    head = body[:20_000]
    return next((name for name, pattern in DEFAULT_PAGES if pattern.search(head)), None)
