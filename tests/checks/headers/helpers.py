"""Builders for grader inputs: a response as the Observatory would have fetched it."""

from __future__ import annotations

from checks.headers.model import Resp, ScanInput
from checks.headers.observatory import html_for

SITE = "example.com"
URL = f"https://{SITE}/"
HTML = ("Content-Type", "text/html; charset=utf-8")


def never_preloaded(host: str) -> bool:
    return False


def make_scan(
    headers: list[tuple[str, str]] | None = None,
    body: str = "",
    *,
    html: bool = True,
    https: bool = True,
    verified: bool = True,
    route: list[str] | None = None,
    http_verified: bool = True,
    cors: list[tuple[str, str]] | None = None,
    extra_cookies: list[tuple[str, str]] | None = None,
    url: str = URL,
) -> ScanInput:
    """A scan of ``url`` answering ``headers``/``body``; no plain HTTP unless ``route``."""
    hdrs = list(headers or [])
    if html and not any(k.lower() == "content-type" for k, _ in hdrs):
        hdrs.append(HTML)
    resp = Resp(url, 200, hdrs, verified=verified)
    scan_html, failed = html_for(hdrs, body.encode())
    scan = ScanInput(
        hostname=SITE,
        https=resp if https else None,
        http=None if https else resp,
        http_route=[] if https else [url],
        cors=Resp(url, 200, cors) if cors is not None else None,
        html=scan_html,
        html_parse_failed=failed,
        extra_cookies=list(extra_cookies or []),
    )
    if route is not None:
        scan.http = Resp(route[-1], 200, [], verified=http_verified)
        scan.http_route = route
    return scan


def csp(value: str, **kw: object) -> ScanInput:
    return make_scan([("Content-Security-Policy", value)], **kw)  # type: ignore[arg-type]
