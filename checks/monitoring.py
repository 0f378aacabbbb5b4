"""The ``monitoring`` check: the operator's Prometheus scrapes the service, an alerting rule
covers it, and Alertmanager routes its alerts to a receiver that sends somewhere.

``collect`` asks the real HTTP APIs — Prometheus ``/api/v1/query`` (``min_over_time(up{…}
[window])``) and ``/api/v1/rules?type=alert``, Alertmanager ``/api/v2/status`` (its loaded
configuration) — through the shared prober, so the address policy applies; ``evaluate``
judges the answers. A rule covers the service when its expression or labels name the job
(``job="J"``) or the service (``service="S"``). The route is the one Alertmanager's tree
picks for ``{job, service}`` (``match``, ``match_re`` and ``matchers`` with ``=``/``!=``/
``=~``/``!~``, ``continue`` ignored); a receiver with no ``*_configs`` drops alerts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlencode

import yaml
from pydantic import field_validator

from checks.base import (
    Check,
    Judged,
    Options,
    Outcome,
    ProbeContext,
    ProbeError,
    RunStatus,
    Severity,
    Target,
    codes_of,
    judged,
    outcome_from_findings,
)
from checks.bounds import Age

_find = partial(judged, "monitoring")
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


class MonitoringOptions(Options):
    """DESIGN §4 keys ``prometheus_url job instance alertmanager_url window``."""

    prometheus_url: str
    job: str | None = None
    instance: str | None = None
    alertmanager_url: str | None = None
    window: Age = 300.0
    require_alert_rule: bool = True

    @field_validator("prometheus_url", "alertmanager_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value


async def _get_json(ctx: ProbeContext, url: str, what: str) -> Any:
    res = await ctx.http.fetch(url, timeout=max(0.1, ctx.remaining() / 3),
                               body_cap=4 * 1024 * 1024)  # fmt: skip
    if res.status != 200:
        raise ProbeError("invalid_response", f"{what} answered HTTP {res.status} at {url}")
    try:
        return json.loads(res.body)
    except ValueError as exc:
        raise ProbeError("invalid_response", f"{what} did not answer JSON at {url}") from exc


def _labels_match(labels: Mapping[str, str], name: str, op: str, value: str) -> bool:
    have = labels.get(name, "")
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    hit = re.fullmatch(value, have) is not None
    return hit if op == "=~" else not hit


def _route_matches(route: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    conds: list[tuple[str, str, str]] = []
    for k, v in (route.get("match") or {}).items():
        conds.append((k, "=", str(v)))
    for k, v in (route.get("match_re") or {}).items():
        conds.append((k, "=~", str(v)))
    for m in route.get("matchers") or []:
        parsed = _MATCHER.match(str(m))
        if parsed:
            conds.append(parsed.groups())  # type: ignore[arg-type]
    return all(_labels_match(labels, *c) for c in conds)


def pick_receiver(route: Mapping[str, Any], labels: Mapping[str, str]) -> str | None:
    """The receiver Alertmanager's routing tree gives an alert with ``labels``."""
    for child in route.get("routes") or []:
        if isinstance(child, Mapping) and _route_matches(child, labels):
            found = pick_receiver(child, labels)
            return found or child.get("receiver") or route.get("receiver")
    return route.get("receiver")


def rule_covers(rule: Mapping[str, Any], job: str, service: str) -> bool:
    query = str(rule.get("query", ""))
    labels = rule.get("labels") or {}
    return (re.search(r'job\s*=~?\s*"' + re.escape(job) + '"', query) is not None
            or re.search(r'service\s*=~?\s*"' + re.escape(service) + '"', query) is not None
            or labels.get("job") == job or labels.get("service") == service)  # fmt: skip


class MonitoringCheck(Check[MonitoringOptions]):
    kind = "monitoring"
    Options: ClassVar[type[MonitoringOptions]] = MonitoringOptions  # type: ignore[misc]
    codes = codes_of("monitoring", "not_scraped", "down", "no_alert_rule", "no_route",
                     "unreachable", "invalid_response")  # fmt: skip
    error_codes: ClassVar[dict[str, str]] = {
        "refused": "unreachable", "dns": "unreachable", "reset": "unreachable",
        "tls": "unreachable", "blocked_by_policy": "unreachable",
    }  # fmt: skip

    async def collect(
        self, target: Target, options: MonitoringOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        job = options.job or target.service
        selector = f'job="{job}"' + (f',instance="{options.instance}"' if options.instance else "")
        window = f"{max(1, int(options.window))}s"
        query = f"min_over_time(up{{{selector}}}[{window}])"
        prom = options.prometheus_url
        doc = await _get_json(ctx, f"{prom}/api/v1/query?{urlencode({'query': query})}",
                              "Prometheus")  # fmt: skip
        series = [{"instance": r.get("metric", {}).get("instance", "?"), "min_up": float(r["value"][1])}
                  for r in (doc.get("data") or {}).get("result") or []]  # fmt: skip
        rules_doc = await _get_json(ctx, f"{prom}/api/v1/rules?type=alert", "Prometheus")
        covering = [
            str(rule.get("name"))
            for group in (rules_doc.get("data") or {}).get("groups") or []
            for rule in group.get("rules") or []
            if rule.get("type", "alerting") == "alerting" and rule_covers(rule, job, target.service)
        ]
        facts: dict[str, Any] = {"job": job, "query": query, "series": series,
                                 "alert_rules": covering[:20]}  # fmt: skip
        if options.alertmanager_url:
            status = await _get_json(ctx, f"{options.alertmanager_url}/api/v2/status",
                                     "Alertmanager")  # fmt: skip
            facts["route"] = _route_facts(status, job, target.service)
        return facts

    def evaluate(self, facts: Mapping[str, Any], options: MonitoringOptions) -> Outcome:
        job, found = facts["job"], []
        series = facts.get("series") or []
        if not series:
            found.append(_find(RunStatus.FAIL, "not_scraped", Severity.HIGH,
                               f"Prometheus has no 'up' series for job {job!r} in the last "
                               f"{options.window:g}s: it does not scrape the service"))  # fmt: skip
        down = [s["instance"] for s in series if s["min_up"] < 1]
        if down:
            found.append(_find(RunStatus.FAIL, "down", Severity.HIGH,
                               f"scrape of {', '.join(down[:5])} failed within the window "
                               f"(up < 1)"))  # fmt: skip
        if options.require_alert_rule and not facts.get("alert_rules"):
            found.append(_find(RunStatus.FAIL, "no_alert_rule", Severity.MEDIUM,
                               f"no Prometheus alerting rule names job {job!r} or the service"))  # fmt: skip
        route = facts.get("route")
        if route is not None and not route.get("delivers"):
            found.append(_find(RunStatus.FAIL, "no_route", Severity.MEDIUM,
                               f"Alertmanager routes the service's alerts to "
                               f"{route.get('receiver')!r}, which sends nowhere"))  # fmt: skip
        ok = (f"scraped ({len(series)} target(s) up), covered by "
              f"{', '.join(facts.get('alert_rules') or []) or 'no rule'}")  # fmt: skip
        if route is not None:
            ok += f", routed to {route.get('receiver')!r}"
        judged_: list[Judged] = found
        return outcome_from_findings(judged_, ok)


def _route_facts(status: Mapping[str, Any], job: str, service: str) -> dict[str, Any]:
    original = ((status.get("config") or {}).get("original")) or ""
    try:
        config = yaml.safe_load(original) or {}
    except yaml.YAMLError as exc:
        raise ProbeError("invalid_response", "Alertmanager's configuration does not parse") from exc
    receiver = pick_receiver(config.get("route") or {}, {"job": job, "service": service})
    recv: Mapping[str, Any] = next(
        (r for r in config.get("receivers") or [] if r.get("name") == receiver), {}
    )
    delivers = any(k.endswith("_configs") and v for k, v in recv.items())
    return {"receiver": receiver, "delivers": delivers}
