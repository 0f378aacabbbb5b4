"""Prometheus Alertmanager: ``POST <url>/api/v2/alerts`` (``endsAt`` set on resolve)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.alerting.base import receiver_url
from auditor.alerting.http import HttpReceiver
from auditor.alerting.render import alertmanager_alerts


def alerts_url(base: str) -> str:
    """Accept the Alertmanager base URL or the full ``/api/v2/alerts`` endpoint."""
    base = base.rstrip("/")
    return base if base.endswith("/api/v2/alerts") else f"{base}/api/v2/alerts"


class AlertmanagerReceiver(HttpReceiver):
    async def send(self, payload: Mapping[str, Any]) -> None:
        await self._post_json(alerts_url(receiver_url(self.cfg)), alertmanager_alerts(payload))
