"""Turn the exposure facts into findings (pure): one finding per real problem, each with
the one-line fix an operator applies."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from checks import base
from checks.base import Outcome, RunStatus, Severity
from checks.exposure import paths, ratelimit
from checks.exposure.signatures import DEBUG_PAGE, INTERACTIVE_DEBUGGER, STACK_TRACE, URL_PATTERNS

_f = partial(base.judged, "exposure")

_STATUS_OF = {
    "info": RunStatus.PASS,
    "low": RunStatus.WARN,
    "medium": RunStatus.WARN,
    "high": RunStatus.FAIL,
    "critical": RunStatus.FAIL,
}
FIX_URL_PATTERNS = "set DEBUG = False in the Django settings of every deployed environment"
FIX_BANNER = "remove the header (Express: app.disable('x-powered-by'); PHP: expose_php = Off)"


def judge(facts: Mapping[str, Any], *, api_docs_severity: str = "medium") -> Outcome:
    found: list[base.Judged] = []
    by_code: dict[str, list[str]] = {
        DEBUG_PAGE: [], STACK_TRACE: [], INTERACTIVE_DEBUGGER: [], URL_PATTERNS: [],
    }  # fmt: skip
    for probe in facts.get("probes") or []:
        for sig in probe.get("signatures") or []:
            by_code[sig["code"]].append(f"{sig['name']} on {probe['method']} {probe['url']}")
    exposed: dict[str, list[dict[str, Any]]] = {}
    for item in (facts.get("paths") or {}).get("exposed") or []:
        exposed.setdefault(item["code"], []).append(item)
    for item in exposed.pop(paths.INTERACTIVE_DEBUGGER, []):
        by_code[INTERACTIVE_DEBUGGER].append(f"{item['what']} at {item['url']}")
    if by_code[INTERACTIVE_DEBUGGER]:
        found.append(_f(RunStatus.FAIL, "interactive_debugger", Severity.CRITICAL,
                        "an interactive debugger runs code sent from the browser: "
                        + "; ".join(by_code[INTERACTIVE_DEBUGGER])
                        + "; fix: " + paths.REMEDIATION[paths.INTERACTIVE_DEBUGGER]))  # fmt: skip
    if by_code[URL_PATTERNS]:
        found.append(_f(RunStatus.FAIL, "url_patterns", Severity.HIGH,
                        "a debug 404 page lists the application's URL patterns and settings: "
                        + "; ".join(by_code[URL_PATTERNS]) + "; fix: " + FIX_URL_PATTERNS))  # fmt: skip
    if by_code[DEBUG_PAGE]:
        found.append(_f(RunStatus.FAIL, "debug_page", Severity.CRITICAL,
                        "a framework debug page is served: " + "; ".join(by_code[DEBUG_PAGE])))  # fmt: skip
    if by_code[STACK_TRACE]:
        found.append(_f(RunStatus.FAIL, "stack_trace", Severity.HIGH,
                        "error responses leak a stack trace: " + "; ".join(by_code[STACK_TRACE])))  # fmt: skip
    found.extend(_paths(exposed, api_docs_severity))
    found.extend(_banners(facts))
    found.extend(_metrics(facts))
    burst = facts.get("rate_limit")
    rate_note = ""
    if burst is not None and burst.get("answered"):
        signals = burst.get("signals", ["legacy"] if burst.get("limited") else [])
        if signals:
            rate_note = "; " + ratelimit.describe(burst)
        elif burst.get("inconclusive"):
            rate_note = f"; rate limit not judged: {burst['inconclusive']}"
        else:
            seen = ", ".join(f"{s} ×{n}" for s, n in sorted(burst.get("statuses", {}).items()))
            found.append(_f(RunStatus.WARN, "no_rate_limit", Severity.MEDIUM,
                            f"{burst['answered']} rapid requests to {burst['url']} met no 429, "
                            f"no shift to 503 and no RateLimit/X-RateLimit headers (status {seen}); fix: "
                            "limit requests per client at the proxy (nginx limit_req) or in the "
                            "application"))  # fmt: skip
    answered = sum(1 for p in facts.get("probes") or [] if "status" in p)
    return base.outcome_from_findings(
        found,
        f"no stack trace, debug page or version banner in {answered} probe responses{rate_note}",
    )


def _paths(exposed: dict[str, list[dict[str, Any]]], api_docs_severity: str) -> list[base.Judged]:
    out: list[base.Judged] = []

    def places(code: str) -> str:
        return "; ".join(
            f"{i['what']} at {i['url']}" + (f" ({', '.join(i['details'])})" if i["details"] else "")
            for i in exposed.get(code, [])
        )

    fix = {code: "; fix: " + text for code, text in paths.REMEDIATION.items()}
    if exposed.get(paths.API_DOCS) and api_docs_severity != "off":
        out.append(_f(_STATUS_OF[api_docs_severity], "api_docs", api_docs_severity,
                      "API documentation is served in production: " + places(paths.API_DOCS)
                      + fix[paths.API_DOCS]))  # fmt: skip
    if exposed.get(paths.SERVER_STATUS):
        out.append(_f(RunStatus.FAIL, "server_status", Severity.MEDIUM,
                      "server status pages (client addresses, requested URLs) answer without "
                      "authentication: " + places(paths.SERVER_STATUS)
                      + fix[paths.SERVER_STATUS]))  # fmt: skip
    if exposed.get(paths.ACTUATOR):
        names = {d for i in exposed[paths.ACTUATOR] for d in i["details"]}
        worst = Severity.CRITICAL if names & {"env", "heapdump"} else Severity.HIGH
        out.append(_f(RunStatus.FAIL, "actuator", worst,
                      "Spring Boot actuator endpoints answer without authentication: "
                      + places(paths.ACTUATOR) + fix[paths.ACTUATOR]))  # fmt: skip
    if exposed.get(paths.PPROF):
        out.append(_f(RunStatus.FAIL, "pprof", Severity.HIGH,
                      "Go profiling endpoints answer without authentication: "
                      + places(paths.PPROF) + fix[paths.PPROF]))  # fmt: skip
    if exposed.get(paths.DEFAULT_PAGE):
        out.append(_f(RunStatus.WARN, "default_page", Severity.LOW,
                      "the web server's stock install page is served: " + places(paths.DEFAULT_PAGE)
                      + fix[paths.DEFAULT_PAGE]))  # fmt: skip
    return out


def _banners(facts: Mapping[str, Any]) -> list[base.Judged]:
    out: list[base.Judged] = []
    banners = facts.get("banners") or []
    if banners:
        shown = ", ".join(f"{b['header']}: {b['value']}" for b in banners)
        out.append(_f(RunStatus.WARN, "server_version", Severity.LOW,
                      f"response headers disclose software versions ({shown}); fix: "
                      "send the product name alone (nginx: server_tokens off; Apache: "
                      "ServerTokens Prod) and drop X-Powered-By"))  # fmt: skip
    products = facts.get("framework_banners") or []
    if products:
        shown = ", ".join(f"{b['header']}: {b['value']}" for b in products)
        out.append(_f(RunStatus.PASS, "framework_banner", Severity.INFO,
                      f"response headers name the application framework ({shown}); "
                      f"fix: {FIX_BANNER}"))  # fmt: skip
    return out


def _metrics(facts: Mapping[str, Any]) -> list[base.Judged]:
    out: list[base.Judged] = []
    public = facts.get("metrics_public")
    if public and public.get("valid"):
        out.append(_f(RunStatus.FAIL, "metrics_public", Severity.MEDIUM,
                      f"{public['url']} serves metrics without authentication on a "
                      "public service"))  # fmt: skip
    metrics = facts.get("metrics")
    if metrics is not None and not metrics.get("valid"):
        why = metrics.get("error") or f"status {metrics.get('status')}, {metrics.get('reason')}"
        out.append(_f(RunStatus.FAIL, "metrics_missing", Severity.MEDIUM,
                      f"{metrics['url']} does not serve Prometheus metrics ({why})"))  # fmt: skip
    return out
