"""The ``monitoring`` kind: the operator's Prometheus scrapes the service, alert rules cover
it, and Alertmanager routes its alerts to someone.

``collect`` asks the real APIs (through the prober: address policy, deadline, body cap):
Prometheus ``/api/v1/query`` (``avg_over_time(up{job=…}[window])``), ``/api/v1/targets``
(the scrape error, when scrapes fail), ``/api/v1/rules`` and ``/api/v1/alertmanagers``;
Alertmanager ``/api/v2/status`` (its running route tree); optionally the service's own
``/metrics`` for request-rate, error and duration series. ``evaluate`` is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from checks.base import Check, Outcome, ProbeContext, Target, codes_of
from checks.monitoring.collect import collect
from checks.monitoring.evaluate import evaluate
from checks.monitoring.options import MonitoringOptions
from checks.remote import REMOTE_ERROR_CODES

__all__ = ["MonitoringCheck", "MonitoringOptions"]


class MonitoringCheck(Check[MonitoringOptions]):
    """Scraped, alerted on, routed — asked of the operator's own Prometheus/Alertmanager."""

    kind: ClassVar[str] = "monitoring"
    Options = MonitoringOptions
    codes = codes_of(
        "monitoring", "not_scraped", "scrape_failing", "no_alert_rule", "rule_failing",
        "no_alertmanager", "no_route", "no_red_metrics", "unreachable", "unauthorized",
        "invalid_response", "query_failed", "blocked_by_policy",
    )  # fmt: skip
    error_codes: ClassVar[dict[str, str]] = REMOTE_ERROR_CODES

    async def collect(
        self, target: Target, options: MonitoringOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        return await collect(target, options, ctx)

    def evaluate(self, facts: Mapping[str, Any], options: MonitoringOptions) -> Outcome:
        return evaluate(facts, options)
