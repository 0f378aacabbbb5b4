"""Slack incoming webhook (Block Kit message)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from auditor.alerting.base import receiver_url
from auditor.alerting.http import post
from auditor.alerting.render import slack_body
from auditor.config import ReceiverModel
from auditor.probe.http import HttpProber


class SlackReceiver:
    def __init__(self, cfg: ReceiverModel, prober: HttpProber) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self._prober = prober

    async def send(self, payload: Mapping[str, Any]) -> None:
        url = receiver_url(self.cfg)
        body = json.dumps(slack_body(payload)).encode()
        await post(
            self._prober, url, body, {"Content-Type": "application/json"}, self.cfg.timeout, []
        )
