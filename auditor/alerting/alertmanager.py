"""Prometheus Alertmanager: ``POST <url>/api/v2/alerts`` (``endsAt`` set on resolve)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from auditor.alerting.base import receiver_url
from auditor.alerting.http import post
from auditor.alerting.render import alertmanager_alerts
from auditor.config import ReceiverModel
from auditor.probe.http import HttpProber


def alerts_url(base: str) -> str:
    """Accept the Alertmanager base URL or the full ``/api/v2/alerts`` endpoint."""
    base = base.rstrip("/")
    return base if base.endswith("/api/v2/alerts") else f"{base}/api/v2/alerts"


class AlertmanagerReceiver:
    def __init__(self, cfg: ReceiverModel, prober: HttpProber) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self._prober = prober

    async def send(self, payload: Mapping[str, Any]) -> None:
        url = alerts_url(receiver_url(self.cfg))
        body = json.dumps(alertmanager_alerts(payload)).encode()
        await post(
            self._prober, url, body, {"Content-Type": "application/json"}, self.cfg.timeout, []
        )
