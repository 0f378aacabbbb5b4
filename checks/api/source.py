"""Where the document comes from: the service (through the prober) or, on the config tier, a file.

The URL fetch goes through ``ctx.http`` so the address policy, the deadline and a size cap
hold; a document over the cap is refused while it streams (a 50 MB answer costs at most
the cap in memory and never hangs the run). The probe token is only ever sent to the
service's own origin.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from auditor.probe.outcome import ProbeError, Target
from checks.base import ProbeContext

ACCEPT = "application/json, application/yaml;q=0.9, application/vnd.oai.openapi;q=0.9, */*;q=0.1"


@dataclass(frozen=True)
class Loaded:
    """The raw document and where it came from (a URL or a file path)."""

    data: bytes
    source: str
    content_type: str = ""


def same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


def auth_headers(target: Target, url: str, token: str | None) -> dict[str, str]:
    """The bearer token, for the service's own origin only (never a host the spec names)."""
    if token and same_origin(url, target.url):
        return {"Authorization": f"Bearer {token}"}
    return {}


def read_file(path: str, cap: int) -> Loaded:
    """Blocking: a config-tier ``spec_file``, refused over ``cap`` bytes before it is read."""
    try:
        size = os.stat(path).st_size
        if size > cap:
            raise ProbeError(
                "spec_too_large", f"spec_file {path} is {size:,} bytes, over the {cap:,}-byte cap"
            )
        with open(path, "rb") as fh:
            data = fh.read(cap + 1)
    except OSError as exc:
        raise ProbeError(
            "spec_unreadable", f"cannot read spec_file {path}: {exc.strerror or exc}"
        ) from exc
    if len(data) > cap:
        raise ProbeError("spec_too_large", f"spec_file {path} grew over the {cap:,}-byte cap")
    return Loaded(data, path)


async def fetch_spec(
    target: Target,
    url: str,
    ctx: ProbeContext,
    *,
    cap: int,
    token: str | None,
    verify: bool,
    ca_file: str | None,
) -> Loaded:
    """GET the document; every failure is an ``error`` ProbeError with the api kind's code."""
    try:
        res = await ctx.http.fetch(
            url,
            headers={"Accept": ACCEPT, **auth_headers(target, url, token)},
            timeout=max(0.1, ctx.remaining()),
            verify=verify,
            ca_file=ca_file,
            max_redirects=5,
            body_cap=cap,
        )
    except ProbeError as exc:
        if exc.error_kind == "body_too_large":
            raise ProbeError(
                "spec_too_large", f"the OpenAPI document at {url} is over the {cap:,}-byte cap"
            ) from exc
        if exc.error_kind in ("blocked_by_policy", "timeout"):
            raise
        raise ProbeError(
            "spec_unreachable", f"cannot fetch the OpenAPI document: {exc.message}"
        ) from exc
    if res.status != 200:
        raise ProbeError(
            "spec_unreachable", f"the OpenAPI document at {url} answered {res.status}, not 200"
        )
    return Loaded(res.body, url, res.content_type)
