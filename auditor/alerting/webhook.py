"""Generic webhook: the contract JSON body, signed with ``X-Auditor-Signature`` (DESIGN §7)
and with the Standard Webhooks headers (``webhook-id``/``-timestamp``/``-signature``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from auditor.alerting.base import DeliveryError, env_value, receiver_url
from auditor.alerting.http import HttpReceiver
from auditor.alerting.render import signature, webhook_body
from auditor.alerting.standard import standard_headers


class WebhookReceiver(HttpReceiver):
    async def send(self, payload: Mapping[str, Any]) -> None:
        url = receiver_url(self.cfg)
        secret = env_value(self.cfg.secret_env, "webhook HMAC secret")
        body = webhook_body(payload)
        msg_id = str(payload["id"])
        try:  # the timestamp is taken per attempt: a retry is signed afresh, with the same id
            standard = standard_headers(msg_id, int(time.time()), body, secret)
        except ValueError as exc:
            raise DeliveryError(f"{self.cfg.secret_env}: {exc}", permanent=True) from exc
        headers = {"Content-Type": "application/json", "X-Auditor-Alert-Id": msg_id, **standard}
        if secret:
            headers["X-Auditor-Signature"] = signature(body, secret)
        await self._post(url, body, headers, [secret])
