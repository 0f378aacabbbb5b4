"""The ``exposure`` check kind: what a service gives away when poked.

Probes (all through ``ctx.http.fetch``, so the address policy and body cap apply): a path
that cannot exist, invalid JSON POSTed to ``path``, a malformed query on ``path``;
optionally ``/metrics`` without credentials (services marked public), the configured
``metrics_path`` with them, and a bounded request burst for rate limiting (opt-in: it is
load on the target). Only signature names and header values are kept as facts, never
bodies, which may hold secrets.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

from pydantic import Field

from auditor.probe.interface import HttpResult
from checks import base
from checks.base import Outcome, ProbeError, RunStatus, Severity
from checks.exposure.exposition import check_exposition
from checks.exposure.signatures import (
    DEBUG_PAGE,
    STACK_TRACE,
    rate_limit_headers,
    scan_body,
    version_banners,
)

BODY_CAP = 256_000
MAX_BURST = 50
BURST_CONCURRENCY = 10
DEFAULT_BAD_QUERY = "id=%27%22%5C&page=-1&limit=not-a-number&q=%FF%FE"
BAD_JSON = b'{"auditor": [1, 2,'


class ExposureOptions(base.HttpOptions):
    #: path for the "cannot exist" probe; None = a fresh random path each run
    not_found_path: str | None = None
    malformed_query: str = DEFAULT_BAD_QUERY
    #: a configured metrics path must answer valid Prometheus exposition (with ``headers``)
    metrics_path: str | None = None
    #: what is tried without credentials on a public service
    public_metrics_path: str = "/metrics"
    #: requests in the rate-limit burst; 0 = off (default)
    rate_limit_burst: int = Field(0, ge=0, le=MAX_BURST)
    rate_limit_path: str | None = None


class ExposureCheck(base.Check[ExposureOptions]):
    kind: ClassVar[str] = "exposure"
    Options: ClassVar[type[base.Options]] = ExposureOptions
    error_codes: ClassVar[dict[str, str]] = {}
    #: probe errors surface only when no probe answered (bodies are truncated, not refused)
    codes = base.codes_of(
        "exposure", "stack_trace", "debug_page", "server_version", "no_rate_limit",
        "metrics_public", "metrics_missing",
        "unreachable", "dns", "refused", "reset", "tls", "blocked_by_policy", "invalid_response",
        "too_many_redirects",
    )  # fmt: skip

    async def collect(
        self, target: base.Target, options: ExposureOptions, ctx: base.ProbeContext
    ) -> dict[str, Any]:
        headers = dict(options.headers)

        async def fetch(
            url: str, method: str = "GET", *, extra: dict[str, str] | None = None,
            content: bytes | None = None, auth: bool = True,
        ) -> HttpResult:  # fmt: skip
            return await ctx.http.fetch(
                url,
                method=method,
                headers={**(headers if auth else {}), **(extra or {})} or None,
                content=content,
                timeout=max(0.1, ctx.remaining()),
                verify=options.verify,
                ca_file=options.ca_file,
                max_redirects=5,
                body_cap=BODY_CAP,
                truncate=True,
            )

        nf_path = options.not_found_path or f"/.auditor-{secrets.token_hex(6)}-does-not-exist"
        sep = "&" if "?" in options.path else "?"
        plan = [
            ("not_found", "GET", target.url_for(nf_path), None, None),
            ("malformed_json", "POST", target.url_for(options.path), BAD_JSON,
             {"Content-Type": "application/json"}),
            ("malformed_query", "GET",
             target.url_for(options.path) + sep + options.malformed_query, None, None),
        ]  # fmt: skip
        results = await asyncio.gather(
            *(
                fetch(url, method, content=body, extra=extra)
                for _, method, url, body, extra in plan
            ),
            return_exceptions=True,
        )
        probes: list[dict[str, Any]] = []
        banners: list[dict[str, str]] = []
        errors: list[ProbeError] = []
        for (name, method, url, _, _), res in zip(plan, results, strict=True):
            if isinstance(res, BaseException):
                err = res if isinstance(res, ProbeError) else ProbeError("unreachable", str(res))
                if err.error_kind == "blocked_by_policy" or not isinstance(res, Exception):
                    raise res
                errors.append(err)
                probes.append({"name": name, "method": method, "url": url, "error": err.message})
                continue
            # the signature scan is CPU work on up to 1 MB: keep it off the event loop
            probes.append(await asyncio.to_thread(_probe_facts, name, method, url, res))
            banners.extend(b for b in version_banners(res.headers) if b not in banners)
        if len(errors) == len(plan):
            raise errors[0]  # nothing answered: could not measure
        facts: dict[str, Any] = {
            "checked_at": ctx.now().isoformat(),
            "public": target.public,
            "probes": probes,
            "banners": banners,
            "metrics_public": None,
            "metrics": None,
            "rate_limit": None,
        }
        if target.public:
            facts["metrics_public"] = await _metrics_probe(
                lambda u: fetch(u, auth=False), target.url_for(options.public_metrics_path)
            )
        if options.metrics_path:
            facts["metrics"] = await _metrics_probe(fetch, target.url_for(options.metrics_path))
        if options.rate_limit_burst:
            url = target.url_for(options.rate_limit_path or options.path)
            facts["rate_limit"] = await _burst(fetch, url, options.rate_limit_burst)
        return facts

    def evaluate(self, facts: Mapping[str, Any], options: ExposureOptions) -> Outcome:
        found: list[base.Judged] = []
        by_code: dict[str, list[str]] = {DEBUG_PAGE: [], STACK_TRACE: []}
        for probe in facts.get("probes") or []:
            for sig in probe.get("signatures") or []:
                by_code[sig["code"]].append(f"{sig['name']} on {probe['method']} {probe['url']}")
        if by_code[DEBUG_PAGE]:
            found.append(_f(RunStatus.FAIL, "debug_page", Severity.CRITICAL,
                            "a framework debug page is served: " + "; ".join(by_code[DEBUG_PAGE])))  # fmt: skip
        if by_code[STACK_TRACE]:
            found.append(_f(RunStatus.FAIL, "stack_trace", Severity.HIGH,
                            "error responses leak a stack trace: " + "; ".join(by_code[STACK_TRACE])))  # fmt: skip
        banners = facts.get("banners") or []
        if banners:
            shown = ", ".join(f"{b['header']}: {b['value']}" for b in banners)
            found.append(_f(RunStatus.WARN, "server_version", Severity.LOW,
                            f"response headers disclose software versions ({shown})"))  # fmt: skip
        public = facts.get("metrics_public")
        if public and public.get("valid"):
            found.append(_f(RunStatus.FAIL, "metrics_public", Severity.MEDIUM,
                            f"{public['url']} serves metrics without authentication on a "
                            "public service"))  # fmt: skip
        metrics = facts.get("metrics")
        if metrics is not None and not metrics.get("valid"):
            why = metrics.get("error") or f"status {metrics.get('status')}, {metrics.get('reason')}"
            found.append(_f(RunStatus.FAIL, "metrics_missing", Severity.MEDIUM,
                            f"{metrics['url']} does not serve Prometheus metrics ({why})"))  # fmt: skip
        burst = facts.get("rate_limit")
        if burst is not None and not burst.get("limited") and burst.get("answered"):
            found.append(_f(RunStatus.WARN, "no_rate_limit", Severity.MEDIUM,
                            f"{burst['answered']} rapid requests to {burst['url']} met no 429 and "
                            "no RateLimit headers"))  # fmt: skip
        answered = sum(1 for p in facts.get("probes") or [] if "status" in p)
        return base.outcome_from_findings(
            found, f"no stack trace, debug page or version banner in {answered} probe responses"
        )


_f = partial(base.judged, "exposure")


def _probe_facts(name: str, method: str, url: str, res: HttpResult) -> dict[str, Any]:
    return {
        "name": name,
        "method": method,
        "url": url,
        "status": res.status,
        "final_url": res.url,
        "content_type": res.content_type,
        "truncated": res.truncated,
        "signatures": scan_body(res.text()),
    }


async def _metrics_probe(fetch: Any, url: str) -> dict[str, Any]:
    try:
        res: HttpResult = await fetch(url)
    except ProbeError as exc:
        if exc.error_kind == "blocked_by_policy":
            raise
        return {"url": url, "status": None, "valid": False, "error": exc.message}
    valid, samples, reason = (
        check_exposition(res.text()) if res.status == 200 and not res.truncated
        else (False, 0, "truncated" if res.truncated else "not 200")
    )  # fmt: skip
    return {
        "url": url,
        "status": res.status,
        "content_type": res.content_type,
        "valid": valid,
        "samples": samples,
        "reason": reason,
    }


async def _burst(fetch: Any, url: str, count: int) -> dict[str, Any]:
    """Up to ``count`` GETs in small concurrent waves, stopping at the first sign of a limit."""
    count = min(count, MAX_BURST)
    statuses: dict[str, int] = {}
    seen_headers: set[str] = set()
    sent = answered = 0
    limited = False
    while sent < count and not limited:
        wave = min(BURST_CONCURRENCY, count - sent)
        sent += wave
        results = await asyncio.gather(*(fetch(url) for _ in range(wave)), return_exceptions=True)
        for res in results:
            if isinstance(res, ProbeError) and res.error_kind == "blocked_by_policy":
                raise res
            if not isinstance(res, HttpResult):
                continue
            answered += 1
            statuses[str(res.status)] = statuses.get(str(res.status), 0) + 1
            names = rate_limit_headers(res.headers)
            seen_headers.update(names)
            if res.status == 429 or names:
                limited = True
    return {
        "url": url,
        "sent": sent,
        "answered": answered,
        "statuses": statuses,
        "headers": sorted(seen_headers),
        "limited": limited,
    }
