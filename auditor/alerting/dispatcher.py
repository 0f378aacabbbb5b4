"""The alert dispatcher: outbox → routed deliveries → receivers, safe with several nodes.

One :meth:`Dispatcher.tick` does three things, each in short transactions:

1. **plan** — claim pending ``transition`` rows (:mod:`~auditor.alerting.outbox`), decide per
   matching receiver whether it is a *firing* or *resolved* notification
   (:mod:`~auditor.alerting.planner`), write ``alert_delivery`` rows (``pending``, or
   ``suppressed`` inside a maintenance window), update ``alert_state`` and mark the
   transition processed — all in one transaction.
2. **reminders** — for every open alert, a ``reminder-N`` delivery when its receiver's
   ``repeat_interval`` is due, and the late announcement or resolve of an alert whose
   notifications a maintenance window held back.
3. **deliver** — per receiver, lease the oldest pending delivery and send it, with retries
   and backoff (:mod:`~auditor.alerting.delivery`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime

import structlog

from auditor.alerting.base import Receiver
from auditor.alerting.delivery import Backoff, Courier, build_receiver
from auditor.alerting.maintenance import Window
from auditor.alerting.outbox import Outbox
from auditor.alerting.planner import Planner
from auditor.config import Config, ReceiverModel
from auditor.probe.http import HttpProber
from auditor.store.db import Database
from auditor.store.models import utcnow

log = structlog.get_logger("auditor.alerting")


class Dispatcher:
    """Claims transitions, plans deliveries, sends them. One per worker process."""

    def __init__(
        self,
        store: Database,
        config: Config,
        prober: HttpProber | None = None,
        *,
        node_id: str = "dispatcher",
        receivers: Mapping[str, Receiver] | None = None,
        clock: Callable[[], datetime] = utcnow,
        lease_s: float = 60.0,
        backoff_base_s: float = 5.0,
        backoff_max_s: float = 3600.0,
        batch: int = 200,
        poll_s: float = 2.0,
    ) -> None:
        self.store = store
        self.node_id = node_id
        self.clock = clock
        self.poll_s = poll_s
        self.receiver_cfgs: dict[str, ReceiverModel] = {
            r.name: r for r in config.alerting.receivers
        }
        if receivers is None:
            self._own_prober = prober is None
            self.prober = prober or HttpProber(config.auditor.address_policy())
            receivers = {
                name: build_receiver(cfg, self.prober, config)
                for name, cfg in self.receiver_cfgs.items()
            }
        else:
            self._own_prober = False
        self.receivers: dict[str, Receiver] = dict(receivers)
        windows = [Window.from_model(m) for m in config.alerting.maintenance]
        base_url = (config.auditor.public_url or f"http://{config.auditor.listen}").rstrip("/")
        self.planner = Planner(self.receiver_cfgs, base_url)
        self.outbox = Outbox(store, windows, node_id=node_id, lease_s=lease_s, batch=batch)
        self.courier = Courier(
            self.outbox,
            self.receivers,
            self.receiver_cfgs,
            clock=clock,
            backoff=Backoff(backoff_base_s, backoff_max_s),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; an in-flight send finishes (or its lease expires)."""
        log.info("dispatcher_started", node=self.node_id, receivers=len(self.receivers))
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception as exc:  # never let alerting kill the daemon
                    log.error("dispatcher_tick_failed", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_s)
        finally:
            for receiver in self.receivers.values():
                close = getattr(receiver, "close", None)
                if callable(close):
                    close()
            if self._own_prober:
                await self.prober.aclose()
            log.info("dispatcher_stopped", node=self.node_id)

    async def tick(self) -> int:
        """Plan new transitions and reminders, then deliver what is due; returns deliveries sent."""
        now = self.clock()
        await asyncio.to_thread(self.plan_transitions, now)
        await asyncio.to_thread(self.plan_reminders, now)
        return await self.deliver_due()

    def plan_transitions(self, now: datetime | None = None) -> int:
        """Claim and process a batch of pending transitions; returns how many were processed."""
        now = now or self.clock()
        with self.store.write(background=True) as s:
            claimed = self.outbox.claim_transitions(s, now)
            if claimed is None:
                return 0
            windows = self.outbox.windows(s)
            for t in claimed.transitions:
                subject = claimed.subjects.get(t.check_id)
                if subject is not None:
                    plan = self.planner.transition(t, subject, claimed.alert_states, windows, now)
                    self.outbox.save(s, plan)
                self.outbox.processed(s, t, now)
            return len(claimed.transitions)

    def plan_reminders(self, now: datetime | None = None) -> int:
        """Write due reminders and late notices of open alerts; returns deliveries created."""
        now = now or self.clock()
        created = 0
        with self.store.write(background=True) as s:
            alerts = self.outbox.open_alerts(s)
            if not alerts:
                return 0
            windows = self.outbox.windows(s)
            for alert in alerts:
                plan = self.planner.reminder(alert, windows, now)
                self.outbox.save(s, plan)
                created += len(plan.deliveries)
        return created

    async def deliver_due(self, max_rounds: int = 100) -> int:
        return await self.courier.deliver_due(max_rounds)

    def send_deadline(self, receiver: str) -> float:
        return self.courier.send_deadline(receiver)
