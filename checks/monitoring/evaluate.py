"""The ``monitoring`` verdict (pure): each finding names what is missing and the one-line fix."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from checks.base import Judged, Outcome, RunStatus, Severity, judged, outcome_from_findings
from checks.bounds import format_duration
from checks.monitoring.options import MonitoringOptions

_problem = partial(judged, "monitoring")


def _scrape(facts: Mapping[str, Any], job: str, window: str) -> list[Judged]:
    scrape = facts.get("scrape") or {}
    series = scrape.get("series") or []
    where = f'job="{job}"' + (f', instance="{facts["instance"]}"' if facts.get("instance") else "")
    if not series:
        return [
            _problem(
                RunStatus.FAIL, "not_scraped", Severity.HIGH,
                f"Prometheus has no up{{{where}}} series in the last {window}: add a scrape "
                f"job for the service (scrape_configs: job_name: {job}) or set job to the "
                "job that scrapes it",
            )
        ]  # fmt: skip
    errors = scrape.get("last_errors") or {}
    down = [s for s in series if s["up_ratio"] <= 0]
    flaky = [s for s in series if 0 < s["up_ratio"] < 1]
    out: list[Judged] = []
    for s in down[:3]:
        why = errors.get(s["instance"], "")
        out.append(
            _problem(
                RunStatus.FAIL, "scrape_failing", Severity.HIGH,
                f"every scrape of {s['instance'] or job} ({job}) failed in the last {window}"
                + (f" ({why})" if why else "")
                + ": make its metrics endpoint answer Prometheus",
            )
        )  # fmt: skip
    for s in flaky[:3]:
        missed = round((1 - s["up_ratio"]) * 100, 1)
        out.append(
            _problem(
                RunStatus.WARN, "scrape_failing", Severity.MEDIUM,
                f"{missed:g}% of the scrapes of {s['instance'] or job} ({job}) failed in the "
                f"last {window}: check the target's metrics endpoint and scrape_timeout",
            )
        )  # fmt: skip
    return out


def _rules(facts: Mapping[str, Any], job: str) -> list[Judged]:
    rules = facts.get("rules") or {}
    covering = rules.get("covering") or []
    found = {r["name"] for r in covering}
    out: list[Judged] = []
    missing = [n for n in rules.get("named") or [] if n not in found]
    if missing:
        out.append(
            _problem(
                RunStatus.FAIL, "no_alert_rule", Severity.HIGH,
                f"alerting rule(s) {', '.join(missing)} not loaded in Prometheus: add them to "
                "a rule_files file and reload",
            )
        )  # fmt: skip
    elif not covering:
        out.append(
            _problem(
                RunStatus.FAIL, "no_alert_rule", Severity.HIGH,
                f'no alerting rule in Prometheus selects job="{job}": add one, e.g. '
                f'alert: {_camel(job)}Down, expr: up{{job="{job}"}} == 0',
            )
        )  # fmt: skip
    for rule in covering:
        if rule.get("health") == "err":
            out.append(
                _problem(
                    RunStatus.WARN, "rule_failing", Severity.MEDIUM,
                    f"alerting rule {rule['name']} fails to evaluate "
                    f"({rule.get('last_error') or 'no error text'}): fix its expression",
                )
            )  # fmt: skip
    return out


def _camel(job: str) -> str:
    return "".join(p.capitalize() for p in job.replace("-", "_").replace(".", "_").split("_"))


def _alerting(facts: Mapping[str, Any], options: MonitoringOptions, job: str) -> list[Judged]:
    out: list[Judged] = []
    if not facts.get("alertmanagers"):
        out.append(
            _problem(
                RunStatus.FAIL, "no_alertmanager", Severity.HIGH,
                "Prometheus sends its alerts to no Alertmanager: add alerting: alertmanagers: "
                "to prometheus.yml",
            )
        )  # fmt: skip
    manager = facts.get("alertmanager")
    if not manager:
        return out
    if manager.get("error"):
        out.append(
            _problem(
                RunStatus.ERROR, "unreachable", Severity.HIGH,
                f"could not read Alertmanager's routes: {manager['error']}",
            )
        )  # fmt: skip
        return out
    routes = manager.get("routes") or []
    good = [
        r for r in routes
        if r.get("notifying") and (options.default_route_ok or not r.get("root_only"))
    ]  # fmt: skip
    if routes and not good:
        first = routes[0]
        receivers = ", ".join(first.get("receivers") or []) or "none"
        why = (
            "which notifies no one"
            if not first.get("notifying")
            else "only by the root route (default_route_ok = false)"
        )
        out.append(
            _problem(
                RunStatus.FAIL, "no_route", Severity.HIGH,
                f"Alertmanager routes the alerts of job {job} ({first.get('alert')}) to "
                f"{receivers}, {why}: add a route with matchers: [job=\"{job}\"] to a receiver "
                "that has an integration",
            )
        )  # fmt: skip
    return out


def _red(facts: Mapping[str, Any]) -> list[Judged]:
    red = facts.get("red")
    if not red:
        return []
    if red.get("error"):
        msg = f"could not read the service's metrics ({red['error']}): expose {red.get('url')}"
        return [_problem(RunStatus.WARN, "no_red_metrics", Severity.MEDIUM, msg)]
    if not red.get("valid"):
        msg = f"the service's metrics are not in the exposition format ({red.get('reason')})"
        return [_problem(RunStatus.WARN, "no_red_metrics", Severity.MEDIUM, msg)]
    missing = [
        label
        for key, label in (("rate", "request rate"), ("errors", "errors"), ("duration", "duration"))
        if not red.get(key)
    ]
    if not missing:
        return []
    return [
        _problem(
            RunStatus.WARN, "no_red_metrics", Severity.MEDIUM,
            f"the service's metrics lack {', '.join(missing)} series: count requests with a "
            "status label (http_requests_total{status=...}) and time them with a histogram "
            "(http_request_duration_seconds)",
        )
    ]  # fmt: skip


def evaluate(facts: Mapping[str, Any], options: MonitoringOptions) -> Outcome:
    job = str(facts.get("job", ""))
    window = format_duration(float(facts.get("window_s") or options.window))
    problems = [
        *_scrape(facts, job, window),
        *_rules(facts, job),
        *_alerting(facts, options, job),
        *_red(facts),
    ]
    rules = len((facts.get("rules") or {}).get("covering") or [])
    routed = " and routed" if facts.get("alertmanager") else ""
    ok = f"job {job} scraped for {window}, {rules} alert rule{'s' * (rules != 1)}{routed}"
    return outcome_from_findings(problems, ok)
