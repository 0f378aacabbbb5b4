"""The ``content-security-policy`` test (observatory-rules.md §2.3–2.6).

Ported check by check, including the engine's aliasing: the effective ``script-src``
may *be* the ``default-src`` set, so removing ``'unsafe-inline'`` for a nonce also
removes it from ``style-src``/``object-src`` when they fall back to the same set.
"""

from __future__ import annotations

from typing import Any

from checks.headers.csp import (
    CspParseError,
    ParsedCsp,
    parse_csp,
    parse_csp_meta,
    split_header_policies,
)
from checks.headers.html import is_html
from checks.headers.model import ScanInput, TestResult

NAME = "content-security-policy"
BROAD = frozenset(
    {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
)
UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
BROAD_OR_INLINE = BROAD | UNSAFE_INLINE
PASSIVE = ("img-src", "media-src")
NONCES_HASHES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")
PASSING = frozenset(
    {
        "csp-implemented-with-no-unsafe",
        "csp-implemented-with-no-unsafe-default-src-none",
        "csp-implemented-with-unsafe-inline-in-style-src-only",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
    }
)


def _first(*candidates: set[str] | None) -> set[str]:
    for cand in candidates:
        if cand is not None:
            return cand
    return {"*"}


def _has_nonce_or_hash(sources: set[str]) -> bool:
    return any(s.startswith(NONCES_HASHES) for s in sources)


def _insecure(sources: list[str] | set[str]) -> bool:
    return any(s.startswith(("http:", "ftp:")) for s in sources)


def csp_policies(scan: ScanInput) -> tuple[list[str], list[str]]:
    """(header policies, meta policies) of the main response."""
    resp = scan.auto
    if resp is None:
        return [], []
    header = split_header_policies(resp.all("content-security-policy"))
    meta: list[str] = []
    if scan.html is not None and is_html(resp.get("content-type")):
        meta = split_header_policies(scan.html.csp_meta)
    return header, meta


def content_security_policy(scan: ScanInput) -> TestResult:
    """Grade the enforced CSP (header + meta); ``data`` is the merged policy or None."""
    resp = scan.auto
    if resp is None:
        return TestResult(NAME, "csp-not-implemented", False)
    header, meta = csp_policies(scan)
    try:
        parsed = parse_csp([*header, *meta])
    except CspParseError:
        return TestResult(NAME, "csp-header-invalid", False)
    try:
        header_only = parse_csp(header)
    except CspParseError:
        header_only = ParsedCsp()
    try:
        meta_only = parse_csp_meta(meta)
    except CspParseError:
        meta_only = ParsedCsp()
    if header_only.size + meta_only.size == 0:
        if resp.get("content-security-policy-report-only"):
            return TestResult(NAME, "csp-not-implemented-but-reporting-enabled", False)
        return TestResult(NAME, "csp-not-implemented", False)
    result, flags = _evaluate(parsed, header_only, scan.site_is_https)
    passed = result in PASSING
    if passed and parsed.duplicates:
        result = "csp-implemented-but-duplicate-directives"
    data: dict[str, Any] = {k: sorted(v) for k, v in parsed.directives.items()}
    return TestResult(NAME, result, passed, {"directives": data, "policy": flags})


def _evaluate(
    parsed: ParsedCsp, header_only: ParsedCsp, https: bool
) -> tuple[str, dict[str, bool]]:
    csp = parsed.directives
    result: str | None = None
    flags = dict.fromkeys(
        (
            "strictDynamic",
            "unsafeInline",
            "insecureSchemeActive",
            "unsafeEval",
            "insecureSchemePassive",
            "unsafeInlineStyle",
            "defaultNone",
        ),
        False,
    )
    base_uri = _first(csp.get("base-uri"))
    frame_ancestors = _first(header_only.directives.get("frame-ancestors"))
    form_action = _first(csp.get("form-action"))
    object_src = _first(csp.get("object-src"), csp.get("default-src"))
    script_src = _first(csp.get("script-src"), csp.get("default-src"))
    style_src = _first(csp.get("style-src"), csp.get("default-src"))

    for sources in (script_src, style_src):
        if _has_nonce_or_hash(sources) and "'unsafe-inline'" in sources:
            sources.discard("'unsafe-inline'")

    if _has_nonce_or_hash(script_src) and "'strict-dynamic'" in script_src:
        for src in list(script_src):
            if src.startswith(tuple(BROAD)) or src in ("'self'", "'unsafe-inline'"):
                script_src.discard(src)
        flags["strictDynamic"] = True
    elif "'strict-dynamic'" in script_src:
        result = "csp-header-invalid"

    active = [s for d, srcs in csp.items() if d not in PASSIVE and d != "script-src" for s in srcs]
    active.extend(script_src)
    passive = [s for d in PASSIVE for s in _first(csp.get(d), csp.get("default-src"), set())]

    def mark(flag: str, name: str) -> None:
        nonlocal result
        flags[flag] = True
        if result is None:
            result = name

    if script_src & BROAD_OR_INLINE or object_src & BROAD:
        mark("unsafeInline", "csp-implemented-with-unsafe-inline")
    if https and _insecure(active):
        mark("insecureSchemeActive", "csp-implemented-with-insecure-scheme")
    if "'unsafe-eval'" in script_src | style_src:
        mark("unsafeEval", "csp-implemented-with-unsafe-eval")
    if https and _insecure(passive):
        mark(
            "insecureSchemePassive", "csp-implemented-with-insecure-scheme-in-passive-content-only"
        )
    if style_src & BROAD_OR_INLINE:
        mark("unsafeInlineStyle", "csp-implemented-with-unsafe-inline-in-style-src-only")
    if csp.get("default-src") == {"'none'"}:
        mark("defaultNone", "csp-implemented-with-no-unsafe-default-src-none")
    elif result is None:
        result = "csp-implemented-with-no-unsafe"

    flags["antiClickjacking"] = not (frame_ancestors & BROAD)
    flags["insecureBaseUri"] = bool(base_uri & BROAD_OR_INLINE)
    flags["insecureFormAction"] = bool(form_action & BROAD)
    flags["unsafeObjects"] = bool(object_src & BROAD)
    assert result is not None
    return result, flags
