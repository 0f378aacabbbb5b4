"""Sending deliveries: a total deadline per send, exponential backoff, order per receiver.

Each round leases the oldest pending delivery of every receiver and sends them side by side;
success marks a delivery ``delivered``, a failure schedules the next attempt with exponential
backoff and blocks that receiver's later deliveries, so after an outage every pending alert is
delivered once, in order. Idempotency: a delivery is leased before it is sent and its result
is recorded only while it is still pending, and receivers de-duplicate on the payload ``id``,
so a send retried after a crash (or an expired lease) does not alert twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from auditor.alerting.base import DeliveryError, Receiver
from auditor.alerting.outbox import Leased, Outbox
from auditor.config import Config, ReceiverModel
from auditor.probe.http import HttpProber

log = structlog.get_logger("auditor.alerting")


def build_receiver(cfg: ReceiverModel, prober: HttpProber, config: Config) -> Receiver:
    """The signed webhook and Alertmanager post through the prober; Slack, e-mail and every
    other service go through Apprise."""
    if cfg.type == "webhook":
        from auditor.alerting.webhook import WebhookReceiver

        return WebhookReceiver(cfg, prober)
    if cfg.type == "alertmanager":
        from auditor.alerting.alertmanager import AlertmanagerReceiver

        return AlertmanagerReceiver(cfg, prober)
    from auditor.alerting.apprise_receiver import AppriseReceiver

    return AppriseReceiver(cfg, config.auditor.address_policy())


@dataclass(frozen=True)
class Backoff:
    """Seconds to wait before the next attempt: doubling from ``base_s``, capped at ``max_s``."""

    base_s: float
    max_s: float

    def __call__(self, attempts: int) -> float:
        return float(min(self.base_s * (2 ** max(attempts - 1, 0)), self.max_s))


class Courier:
    """Leases due deliveries from the outbox, sends them and records the outcome."""

    def __init__(
        self,
        outbox: Outbox,
        receivers: Mapping[str, Receiver],
        configs: Mapping[str, ReceiverModel],
        *,
        clock: Callable[[], datetime],
        backoff: Backoff,
    ) -> None:
        self.outbox = outbox
        self.receivers = receivers
        self.configs = configs
        self.clock = clock
        self.backoff = backoff

    async def deliver_due(self, max_rounds: int = 100) -> int:
        """Send rounds until nothing is due; returns deliveries sent."""
        sent = 0
        for _ in range(max_rounds):
            now = self.clock()
            leased = await asyncio.to_thread(self.outbox.lease_heads, now, self.receivers)
            if not leased:
                break
            outcomes = await asyncio.gather(*(self.send(item) for item in leased))
            results = list(zip(leased, outcomes, strict=True))
            await asyncio.to_thread(self.outbox.record, results, self.clock(), self.backoff)
            sent += sum(1 for o in outcomes if o is None)
        return sent

    def send_deadline(self, receiver: str) -> float:
        """Total time one send may take: the receiver's ``timeout``, well inside the lease
        (a send outliving its lease would be re-sent by another node)."""
        cfg = self.configs.get(receiver)
        return min(cfg.timeout if cfg else 10.0, self.outbox.lease_s / 2)

    async def send(self, item: Leased) -> DeliveryError | None:
        """Send one leased delivery; the error, or None when it was delivered."""
        receiver = self.receivers[item.receiver]
        deadline = self.send_deadline(item.receiver)
        try:
            try:
                # a total deadline: per-read timeouts do not stop a receiver dripping its reply
                async with asyncio.timeout(deadline):
                    await receiver.send(item.payload)
            except TimeoutError as exc:
                raise DeliveryError(f"timeout: no complete answer within {deadline:g}s") from exc
        except DeliveryError as exc:
            log.warning(
                "alert_delivery_failed",
                receiver=item.receiver,
                alert_id=item.payload.get("id"),
                attempt=item.attempts,
                error=exc.message,
                permanent=exc.permanent,
            )
            return exc
        except Exception as exc:
            return DeliveryError(f"{type(exc).__name__}: {str(exc)[:300]}")
        log.info("alert_delivered", receiver=item.receiver, alert_id=item.payload.get("id"))
        return None
