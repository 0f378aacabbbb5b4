"""The ``exposure`` check kind: what a service gives away when poked.

Probes (all through ``ctx.http.fetch``, so the address policy and body cap apply): a path
that cannot exist, invalid JSON POSTed to ``path``, a malformed query on ``path``; a plain
GET of ``path`` (stock install pages) and one GET each of a few well-known paths
(``paths.PROBES``: API docs, server-status, actuator, pprof, the Werkzeug console);
optionally ``/metrics`` without credentials (services marked public), the configured
``metrics_path`` with them, and a bounded request burst for rate limiting (opt-in: it is
load on the target). Only signature names and header values are kept as facts, never
bodies, which may hold secrets.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from auditor.probe.interface import HttpResult
from checks import base
from checks.base import Outcome, ProbeError
from checks.exposure import paths, ratelimit
from checks.exposure.exposition import check_exposition
from checks.exposure.judge import judge
from checks.exposure.signatures import (
    framework_banners,
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
    #: GET the well-known paths of ``paths.PROBES`` and ``path`` itself (a dozen requests)
    probe_paths: bool = True
    #: the service's API is public on purpose: its documentation is no finding
    public_api: bool = False
    #: how a production service serving API documentation is judged
    api_docs_severity: Literal["off", "info", "low", "medium", "high"] = "medium"


class ExposureCheck(base.Check[ExposureOptions]):
    kind: ClassVar[str] = "exposure"
    Options: ClassVar[type[base.Options]] = ExposureOptions
    error_codes: ClassVar[dict[str, str]] = {}
    #: probe errors surface only when no probe answered (bodies are truncated, not refused)
    codes = base.codes_of(
        "exposure", "stack_trace", "debug_page", "server_version", "no_rate_limit",
        "metrics_public", "metrics_missing", "api_docs", "server_status", "actuator", "pprof",
        "interactive_debugger", "url_patterns", "default_page", "framework_banner",
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
        products: list[dict[str, str]] = []
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
            products.extend(b for b in framework_banners(res.headers) if b not in products)
        if len(errors) == len(plan):
            raise errors[0]  # nothing answered: could not measure
        facts: dict[str, Any] = {
            "checked_at": ctx.now().isoformat(),
            "public": target.public,
            "probes": probes,
            "banners": banners,
            "framework_banners": products,
            "paths": None,
            "metrics_public": None,
            "metrics": None,
            "rate_limit": None,
        }
        if options.probe_paths:
            docs = (
                not options.public_api
                and options.api_docs_severity != "off"
                and target.environment == "production"
            )
            facts["paths"] = await _path_probes(fetch, target, options.path, docs)
        if target.public:
            facts["metrics_public"] = await _metrics_probe(
                lambda u: fetch(u, auth=False), target.url_for(options.public_metrics_path)
            )
        if options.metrics_path:
            facts["metrics"] = await _metrics_probe(fetch, target.url_for(options.metrics_path))
        if options.rate_limit_burst:
            url = target.url_for(options.rate_limit_path or options.path)
            earlier = [p["status"] for p in probes if p.get("status") is not None]
            facts["rate_limit"] = await _burst(fetch, url, options.rate_limit_burst, earlier)
        return facts

    def evaluate(self, facts: Mapping[str, Any], options: ExposureOptions) -> Outcome:
        return judge(facts, api_docs_severity=options.api_docs_severity)


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


async def _path_probes(fetch: Any, target: base.Target, path: str, docs: bool) -> dict[str, Any]:
    """One GET per well-known path (API docs only when ``docs``) and one of ``path``."""
    plan = [p for p in paths.PROBES if docs or p.code != paths.API_DOCS]
    urls = [target.url_for(path)] + [target.url_for(p.path) for p in plan]
    results = await asyncio.gather(*(fetch(u) for u in urls), return_exceptions=True)
    for res in results:
        if isinstance(res, ProbeError) and res.error_kind == "blocked_by_policy":
            raise res
        if isinstance(res, BaseException) and not isinstance(res, Exception):
            raise res
    answers = [
        (u, r.status, await asyncio.to_thread(r.text))
        if isinstance(r, HttpResult)
        else (u, None, "")
        for u, r in zip(urls, results, strict=True)
    ]
    root_url, root_status, root_body = answers[0]
    exposed: list[dict[str, Any]] = []
    page = paths.judge_root(root_status, root_body) if root_status is not None else None
    if page:
        exposed.append({"code": paths.DEFAULT_PAGE, "url": root_url, "what": page, "details": []})
    for probe, (url, status, body) in zip(plan, answers[1:], strict=True):
        details = paths.judge_path(probe, status, body) if status is not None else None
        if details is not None:
            exposed.append({"code": probe.code, "url": url, "what": probe.what, "details": details})
    return {"statuses": {u: s for u, s, _ in answers}, "exposed": exposed}


async def _burst(fetch: Any, url: str, count: int, earlier: list[int]) -> dict[str, Any]:
    """Up to ``count`` GETs, one first and then in small concurrent waves, stopping at the
    first sign of a limit (``ratelimit.judge_burst`` reads the signs; ``earlier`` are the
    statuses of the check's other probes, a 503 counts as a limit only after another)."""
    count = min(count, MAX_BURST)
    answers: list[tuple[int, list[str]]] = []
    statuses: dict[str, int] = {}
    sent = 0
    judged = ratelimit.judge_burst(answers, earlier)
    while sent < count and not judged["signals"]:
        wave = 1 if sent == 0 else min(BURST_CONCURRENCY, count - sent)
        sent += wave
        results = await asyncio.gather(*(fetch(url) for _ in range(wave)), return_exceptions=True)
        for res in results:
            if isinstance(res, ProbeError) and res.error_kind == "blocked_by_policy":
                raise res
            if isinstance(res, HttpResult):
                answers.append((res.status, ratelimit.rate_limit_headers(res.headers)))
                statuses[str(res.status)] = statuses.get(str(res.status), 0) + 1
        judged = ratelimit.judge_burst(answers, earlier)
    return {
        "url": url,
        "sent": sent,
        "answered": len(answers),
        "first_status": answers[0][0] if answers else None,
        "earlier_statuses": earlier,
        "statuses": statuses,
        "headers": sorted({n for _, ns in answers for n in ns}),
        "limited": bool(judged["signals"]),
        **judged,
    }
