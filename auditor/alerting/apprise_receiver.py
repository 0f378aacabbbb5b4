"""Slack, e-mail and every Apprise service (``type = "apprise"``): one receiver class.

The send runs in a one-thread pool of its own: Apprise blocks, and a receiver that hangs
then holds only its own thread — not the event loop, not the threads the outbox's database
calls use, not another receiver. Apprise's deadline is the receiver's ``timeout``; the
courier's total deadline (:mod:`.delivery`) bounds the wait as well.
"""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from auditor.alerting.apprise_send import Message, deliver
from auditor.alerting.base import DeliveryError, env_value, receiver_url
from auditor.alerting.render import notification
from auditor.config import ReceiverModel
from auditor.config.apprise_urls import (
    AppriseUrlError,
    email_url,
    folds_title,
    target_url,
    url_secrets,
)
from auditor.probe.addresses import AddressPolicy

#: alerts whose partly accepted targets are remembered (a process restart forgets them: the
#: targets that took the message may get it again, with the same alert id to de-duplicate on)
KEEP_ACCEPTED = 1000


class AppriseReceiver:
    """Delivers one alert event as a message through the receiver's Apprise URL."""

    def __init__(self, cfg: ReceiverModel, policy: AddressPolicy | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self._policy = policy
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"apprise-{cfg.name}")
        #: per alert id, the targets that took it in an attempt that failed for others
        self._accepted: OrderedDict[str, set[Any]] = OrderedDict()

    def target(self) -> tuple[str, list[str | None]]:
        """The Apprise URL to send to (read from the environment at send time) and the
        strings to scrub from any error about it."""
        cfg = self.cfg
        if cfg.type == "email":
            username = env_value(cfg.username_env, "SMTP username")
            password = env_value(cfg.password_env, "SMTP password")
            url = email_url(cfg, username, password)
            return url, [password, *url_secrets(url)]
        raw = receiver_url(cfg)
        try:
            url = target_url(cfg.type, raw)
        except AppriseUrlError as exc:
            where = f"${cfg.url_env}" if cfg.url_env else "url"
            raise DeliveryError(f"{where}: {exc}", permanent=True) from exc
        return url, [*url_secrets(raw), *url_secrets(url)]

    async def send(self, payload: Mapping[str, Any]) -> None:
        url, secrets = self.target()
        title, body, kind = notification(payload)
        if folds_title(self.cfg.type, url):
            title, body = "", f"{title}\n\n{body}"
        msg = Message(title, body, kind, str(payload.get("id", "")))
        accepted = self._accepted.setdefault(msg.alert_id, set())
        self._accepted.move_to_end(msg.alert_id)
        while len(self._accepted) > KEEP_ACCEPTED:
            self._accepted.popitem(last=False)
        call = functools.partial(
            deliver,
            url,
            msg,
            timeout=self.cfg.timeout,
            secrets=secrets,
            policy=self._policy,
            accepted=accepted,
        )
        await asyncio.get_running_loop().run_in_executor(self._pool, call)
        self._accepted.pop(msg.alert_id, None)

    def close(self) -> None:
        """Let the send thread go (a send in progress finishes within its timeout)."""
        self._pool.shutdown(wait=False)
