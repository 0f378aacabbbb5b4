"""Options of the ``monitoring`` kind (DESIGN §4), apart so collect and evaluate can name them."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from checks.bounds import MAX_ITEMS
from checks.remote import RemoteOptions, check_base_url, parse_window


class MonitoringOptions(RemoteOptions):
    """DESIGN §4 keys ``prometheus_url job instance alertmanager_url window``.

    Attributes:
        prometheus_url: base URL of the Prometheus server (its HTTP API is under it).
        job: the scrape job of the service (default: the service's name).
        instance: one target of the job (``host:port``); all of them when unset.
        alertmanager_url: base URL of Alertmanager, whose route tree is checked.
        window: how far back ``up`` must have been 1 (``"10m"``; 1m to 7d).
        alert_rules: alerting rules (by name) that must exist, besides those found by label.
        alert_labels: labels the service's alerts carry beyond the rule's (for routing).
        default_route_ok: whether alerts that only the root route takes count as routed.
        red_metrics: also read the service's own metrics for rate, errors and duration.
        metrics_path: where the service exposes them.
    """

    prometheus_url: str
    job: str | None = Field(None, min_length=1, max_length=200)
    instance: str | None = Field(None, min_length=1, max_length=200)
    alertmanager_url: str | None = None
    window: float = 600.0
    alert_rules: list[str] = Field([], max_length=MAX_ITEMS)
    alert_labels: dict[str, str] = Field({}, max_length=MAX_ITEMS)
    default_route_ok: bool = True
    red_metrics: bool = False
    metrics_path: str = "/metrics"

    @field_validator("prometheus_url")
    @classmethod
    def _prometheus_url(cls, value: str) -> str:
        return check_base_url(value, "prometheus_url")

    @field_validator("alertmanager_url")
    @classmethod
    def _alertmanager_url(cls, value: str | None) -> str | None:
        return None if value is None else check_base_url(value, "alertmanager_url")

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> float:
        return parse_window(value)

    @field_validator("metrics_path")
    @classmethod
    def _metrics_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("metrics_path must be a path on the service, starting with /")
        return value
