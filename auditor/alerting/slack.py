"""Slack incoming webhook (Block Kit message)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.alerting.base import receiver_url
from auditor.alerting.http import HttpReceiver
from auditor.alerting.render import slack_body


class SlackReceiver(HttpReceiver):
    async def send(self, payload: Mapping[str, Any]) -> None:
        await self._post_json(receiver_url(self.cfg), slack_body(payload))
