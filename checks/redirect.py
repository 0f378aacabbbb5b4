"""The ``redirect`` check kind: plain HTTP must send users to HTTPS, permanently, same host.

Only the *first* answer on ``http://`` is judged (one request, no following): that hop is
the one a network attacker can tamper with, so an http -> http -> https chain or a hop via
another host already fails, as in the HTTP Observatory's redirection test.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

from pydantic import Field

from auditor.probe.interface import REDIRECT_STATUSES
from checks import base
from checks.base import Outcome, ProbeError, RunStatus, Severity

PERMANENT = frozenset({301, 308})


class RedirectOptions(base.HttpOptions):
    #: port of the plain-HTTP listener; None = the service URL's port when it is http://, else 80
    http_port: int | None = Field(None, ge=1, le=65535)
    #: when False (default) a refused HTTP port passes: nothing is served in clear text
    require_http: bool = False


def _norm_host(host: str | None) -> str:
    return (host or "").rstrip(".").lower()


def http_url(service_url: str, path: str, http_port: int | None) -> tuple[str, str]:
    """(the http:// URL to probe, the service's host)."""
    parts = urlsplit(service_url)
    host = parts.hostname
    if not host:
        raise ProbeError("config", f"no host in service URL {service_url!r}")
    port = http_port
    if port is None:
        port = parts.port if parts.scheme == "http" and parts.port else 80
    netloc = f"[{host}]" if ":" in host else host
    if port != 80:
        netloc += f":{port}"
    return f"http://{netloc}/{path.lstrip('/')}", host


class RedirectCheck(base.Check[RedirectOptions]):
    """One request to ``http://host/``; judges the status and Location of the answer."""

    kind: ClassVar[str] = "redirect"
    Options: ClassVar[type[base.Options]] = RedirectOptions
    error_codes: ClassVar[dict[str, str]] = {}
    #: a refused port is judged (``require_http``); the request follows nothing, reads no body
    #: and speaks no TLS
    codes = base.codes_of(
        "redirect", "missing", "not_to_https", "off_host", "not_permanent",
        "unreachable", "dns", "reset", "blocked_by_policy", "invalid_response",
    )  # fmt: skip

    async def collect(
        self, target: base.Target, options: RedirectOptions, ctx: base.ProbeContext
    ) -> dict[str, Any]:
        url, host = http_url(target.url, options.path, options.http_port)
        facts: dict[str, Any] = {"url": url, "host": host, "checked_at": ctx.now().isoformat()}
        try:
            res = await ctx.http.fetch(
                url,
                headers=dict(options.headers) or None,
                timeout=max(0.1, ctx.remaining()),
                follow_redirects=False,
                read_body=False,
            )
        except ProbeError as exc:
            if exc.error_kind != "refused":
                raise
            return {**facts, "http_available": False, "error": exc.message}
        location = res.header("location")
        return {
            **facts,
            "http_available": True,
            "status": res.status,
            "location": location,
            "target": urljoin(url, location) if location else None,
        }

    def evaluate(self, facts: Mapping[str, Any], options: RedirectOptions) -> Outcome:
        url = facts["url"]
        if not facts.get("http_available"):
            if options.require_http:
                return base.outcome_from_findings(
                    [_f(RunStatus.FAIL, "missing", Severity.HIGH, f"{url} is not served at all")],
                    "",
                )
            return Outcome(RunStatus.PASS, f"{url} refuses connections: nothing served over HTTP")
        status, target = facts.get("status"), facts.get("target")
        if status not in REDIRECT_STATUSES or not target:
            return base.outcome_from_findings(
                [
                    _f(
                        RunStatus.FAIL,
                        "missing",
                        Severity.HIGH,
                        f"{url} answers {status} instead of redirecting to HTTPS",
                    )
                ],
                "",
            )
        found: list[base.Judged] = []
        parts = urlsplit(target)
        if parts.scheme != "https":
            found.append(
                _f(
                    RunStatus.FAIL,
                    "not_to_https",
                    Severity.HIGH,
                    f"{url} redirects to {target}, not to https://",
                )
            )
        if _norm_host(parts.hostname) != _norm_host(facts["host"]):
            found.append(
                _f(
                    RunStatus.FAIL,
                    "off_host",
                    Severity.MEDIUM,
                    f"{url} redirects to another host ({parts.hostname}); the HTTPS upgrade "
                    "should happen on the same host so HSTS applies to it",
                )
            )
        if status not in PERMANENT:
            found.append(
                _f(
                    RunStatus.WARN,
                    "not_permanent",
                    Severity.LOW,
                    f"{url} redirects with {status}; use 301 or 308 so clients remember it",
                )
            )
        return base.outcome_from_findings(
            found, f"{url} redirects permanently ({status}) to {target}"
        )


_f = partial(base.judged, "redirect")
