"""The ``monitoring`` kind's I/O: Prometheus and Alertmanager APIs, the service's /metrics.

Each answer is reduced here to what the verdict needs (series ratios, rule names and
health, reached receivers, metric names); configurations, rule expressions and metric
bodies never enter the facts. A Prometheus that cannot be asked ends the run in ``error``;
an Alertmanager or ``/metrics`` that cannot be read becomes a fact the evaluation judges,
so the rest of the verdict still shows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from checks.base import ProbeContext, ProbeError, Target
from checks.monitoring import promql, routing
from checks.monitoring.options import MonitoringOptions
from checks.monitoring.red import red_signals
from checks.remote import Answer, Credentials, credentials, get_json, remote_text

METRICS_BODY_CAP = 4 * 1024 * 1024
MAX_SERIES = 50
MAX_ROUTED = 20


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _data(answer: Answer, what: str, base: str) -> Any:
    """The ``data`` of a Prometheus API answer; its own errors raise ``query_failed``."""
    body = answer.data
    if isinstance(body, dict) and body.get("status") == "error":
        raise ProbeError("query_failed", f"Prometheus refused {what}: {remote_text(answer)}")
    if answer.status != 200 or not isinstance(body, dict) or "data" not in body:
        raise ProbeError(
            "invalid_response",
            f"{base} did not answer {what} like the Prometheus HTTP API (HTTP {answer.status}); "
            "is prometheus_url the server's base URL?",
        )
    return body["data"]


async def _prom(
    ctx: ProbeContext, options: MonitoringOptions, creds: Credentials, path: str,
    params: dict[str, str] | None, what: str,
) -> Any:  # fmt: skip
    answer = await get_json(
        ctx, options.prometheus_url, path, params, what=what, creds=creds, options=options
    )
    return _data(answer, what, options.prometheus_url)


async def collect(target: Target, options: MonitoringOptions, ctx: ProbeContext) -> dict[str, Any]:
    creds = credentials(options, ctx)
    job = options.job or target.service
    window = promql.duration(options.window)
    query = f"avg_over_time({promql.selector('up', job, options.instance)}[{window}])"
    vector = await _prom(ctx, options, creds, "/api/v1/query", {"query": query}, "the up query")
    series: list[dict[str, Any]] = []
    for item in (vector.get("result") or [])[:MAX_SERIES] if isinstance(vector, dict) else []:
        metric, value = item.get("metric") or {}, item.get("value") or [0, "0"]
        series.append({"instance": str(metric.get("instance", ""))[:200],
                       "up_ratio": round(float(value[1]), 4)})  # fmt: skip
    errors: dict[str, str] = {}
    if any(s["up_ratio"] < 1 for s in series):
        targets = await _prom(
            ctx, options, creds, "/api/v1/targets", {"state": "active"}, "the targets query"
        )
        for t in targets.get("activeTargets") or [] if isinstance(targets, dict) else []:
            labels = t.get("labels") or {}
            if labels.get("job") == job and t.get("lastError"):
                where = _strip_userinfo(str(t.get("scrapeUrl", "")))
                errors[str(labels.get("instance", ""))] = f"{where}: {t['lastError']}"[:300]
    groups = await _prom(ctx, options, creds, "/api/v1/rules", {"type": "alert"}, "the rules query")
    covering = promql.covering_rules(
        groups.get("groups") if isinstance(groups, dict) else None,
        job, options.instance, target.service, tuple(options.alert_rules),
    )  # fmt: skip
    managers = await _prom(
        ctx, options, creds, "/api/v1/alertmanagers", None, "the alertmanagers query"
    )
    active = managers.get("activeAlertmanagers") or [] if isinstance(managers, dict) else []
    facts: dict[str, Any] = {
        "prometheus_url": options.prometheus_url,
        "job": job,
        "instance": options.instance,
        "window_s": options.window,
        "scrape": {"query": query, "series": series, "last_errors": errors},
        "rules": {"covering": covering, "named": list(options.alert_rules)},
        "alertmanagers": [_strip_userinfo(str(m.get("url", "")))[:300] for m in active][:10],
        "alertmanager": None,
        "red": None,
    }
    if options.alertmanager_url:
        facts["alertmanager"] = await _routes(ctx, options, creds, job, covering)
    if options.red_metrics:
        facts["red"] = await _red(target, options, ctx)
    return facts


def _alert_labels(
    options: MonitoringOptions, job: str, rule: dict[str, Any] | None
) -> dict[str, str]:
    labels = {"job": job, "alertname": rule["name"] if rule else f"{job}-alert"}
    if options.instance:
        labels["instance"] = options.instance
    if rule:
        labels.update(rule["labels"])
    labels.update(options.alert_labels)
    return labels


async def _routes(
    ctx: ProbeContext, options: MonitoringOptions, creds: Credentials, job: str,
    covering: list[dict[str, Any]],
) -> dict[str, Any]:  # fmt: skip
    """Where each covering rule's alert would go in the running Alertmanager."""
    url = str(options.alertmanager_url)
    out: dict[str, Any] = {"url": url, "error": None, "routes": []}
    try:
        answer = await get_json(
            ctx, url, "/api/v2/status", None, what="Alertmanager", creds=creds, options=options
        )
        body = answer.data
        if answer.status != 200 or not isinstance(body, dict) or "config" not in body:
            raise routing.RoutingError(
                f"{url}/api/v2/status did not answer like Alertmanager (HTTP {answer.status})"
            )
        config = routing.parse_config((body.get("config") or {}).get("original"))
        notifying = routing.notifying(config)
        alerts: list[dict[str, Any] | None] = [*covering[:MAX_ROUTED]] or [None]
        for rule in alerts:
            labels = _alert_labels(options, job, rule)
            routed = routing.route(config["route"], labels)
            out["routes"].append(
                {
                    "alert": labels["alertname"],
                    "receivers": list(routed.receivers),
                    "notifying": sorted(set(routed.receivers) & notifying),
                    "root_only": routed.root_only,
                    "path": list(routed.path),
                }
            )
    except ProbeError as exc:
        out["error"] = exc.message
        out["error_kind"] = exc.error_kind
    except routing.RoutingError as exc:
        out["error"] = str(exc)
        out["error_kind"] = "invalid_response"
    return out


async def _red(target: Target, options: MonitoringOptions, ctx: ProbeContext) -> dict[str, Any]:
    url = target.url_for(options.metrics_path)
    try:
        result = await ctx.http.fetch(
            url, timeout=max(0.1, ctx.remaining()), max_redirects=3, body_cap=METRICS_BODY_CAP
        )
    except ProbeError as exc:
        return {"url": url, "error": exc.message}
    if result.status != 200:
        return {"url": url, "error": f"{options.metrics_path} answered HTTP {result.status}"}
    return {"url": url, "error": None, **red_signals(result.text())}
