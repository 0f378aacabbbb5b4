"""Generic webhook: the contract JSON body, signed with ``X-Auditor-Signature``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.alerting.base import env_value, receiver_url
from auditor.alerting.http import HttpReceiver
from auditor.alerting.render import signature, webhook_body


class WebhookReceiver(HttpReceiver):
    async def send(self, payload: Mapping[str, Any]) -> None:
        url = receiver_url(self.cfg)
        secret = env_value(self.cfg.secret_env, "webhook HMAC secret")
        body = webhook_body(payload)
        headers = {"Content-Type": "application/json", "X-Auditor-Alert-Id": str(payload["id"])}
        if secret:
            headers["X-Auditor-Signature"] = signature(body, secret)
        await self._post(url, body, headers, [secret])
