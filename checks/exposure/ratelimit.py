"""Rate limiting, recognised by how a service's answers change under a short burst.

Rate limiters announce themselves in different ways, and all of them count:

- IETF ``RateLimit`` / ``RateLimit-Policy`` headers (and the draft's ``RateLimit-Limit``,
  ``-Remaining``, ``-Reset``), or the older ``X-RateLimit-*`` ones;
- status 429, with or without ``Retry-After`` (Cloudflare, express-rate-limit, most gateways);
- a *shift* to 503 once the burst starts: nginx ``limit_req`` / ``limit_conn`` and Apache
  mod_evasive reject with 503 by default, which alone would read as "service broken".

A 503 counts only as a shift: some answer of the same run (the check's earlier probes, or
the burst's first requests) must have been something else. When every answer was 503 the
service is down, and nothing can be said about its rate limit. :func:`judge_burst` is pure;
the probe loop records one ``(status, header names)`` pair per answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

HEADERS_IETF = "ratelimit_headers"
HEADERS_LEGACY = "x_ratelimit_headers"
STATUS_429 = "status_429"
STATUS_503 = "status_503"

_IETF = re.compile(r"^ratelimit(?:-[\w-]+)?$", re.IGNORECASE)
_LEGACY = re.compile(r"^x-ratelimit(?:-[\w-]+)?$", re.IGNORECASE)


def rate_limit_headers(headers: Iterable[tuple[str, str]]) -> list[str]:
    """Names of ``RateLimit*`` / ``X-RateLimit-*`` / ``Retry-After`` headers, lower-cased."""
    return sorted(
        {
            k.lower()
            for k, _ in headers
            if _IETF.match(k) or _LEGACY.match(k) or k.lower() == "retry-after"
        }
    )


def judge_burst(
    answers: Sequence[tuple[int, Sequence[str]]], earlier: Sequence[int] = ()
) -> dict[str, Any]:
    """What the answers show: ``signals`` (strongest first), whether any ``Retry-After`` came
    with a rejection, and why a 503 could not count (``inconclusive``). ``earlier`` are the
    statuses the same service gave the check's other probes just before."""
    names = {n for _, ns in answers for n in ns}
    signals: list[str] = []
    if any(_IETF.match(n) for n in names):
        signals.append(HEADERS_IETF)
    if any(_LEGACY.match(n) for n in names):
        signals.append(HEADERS_LEGACY)
    statuses = [s for s, _ in answers]
    if 429 in statuses:
        signals.append(STATUS_429)
    inconclusive = None
    if 503 in statuses:
        if any(s != 503 for s in [*earlier, *statuses]):
            signals.append(STATUS_503)
        elif not signals:
            inconclusive = "every request got 503: the service is down, not rate limited"
    retry_after = any(s in (429, 503) and "retry-after" in ns for s, ns in answers)
    return {"signals": signals, "retry_after": retry_after, "inconclusive": inconclusive}


SIGNAL_TEXT = {
    HEADERS_IETF: "IETF RateLimit headers",
    HEADERS_LEGACY: "X-RateLimit headers",
    STATUS_429: "status 429",
    STATUS_503: "a shift to status 503",
}


def describe(burst: dict[str, Any]) -> str:
    """One line for the summary: which signal showed the limit, after how many requests."""
    shown = ", ".join(SIGNAL_TEXT.get(s, s) for s in burst.get("signals") or [])
    extra = " with Retry-After" if burst.get("retry_after") else ""
    return f"rate limited ({shown}{extra}) within {burst.get('answered')} requests"
