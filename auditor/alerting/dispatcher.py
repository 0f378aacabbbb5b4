"""The alert dispatcher: outbox → routed deliveries → receivers, safe with several nodes.

One :meth:`Dispatcher.tick` does three things, each in short transactions:

1. **plan** — claim pending ``transition`` rows (``processed_at IS NULL``) with
   ``SELECT … FOR UPDATE SKIP LOCKED`` (the same code on SQLite, where the immediate write
   transaction gives exclusivity), decide per matching receiver whether it is a *firing* or
   *resolved* notification, create ``alert_delivery`` rows (status ``pending``, or
   ``suppressed`` inside a maintenance window), update ``alert_state`` and mark the
   transition processed — all in one transaction, so a crash leaves it pending, never half
   done.
2. **reminders** — for every open alert (``alert_state.firing``) whose receiver has a
   ``repeat_interval``, create a ``reminder-N`` delivery when it is due; an alert whose check
   recovered while notifications were suppressed gets its (late) resolve. An alert opened
   inside a maintenance window is announced (id ``<transition>:late``) once the window is
   over if the check still fails; one that recovered inside the window sends nothing.
3. **deliver** — per receiver, lease the *oldest* pending delivery (the lease is
   ``next_attempt_at = now + lease``, so a node killed mid-send is retried after it) and send
   it; success marks it ``delivered``, a failure schedules the next attempt with exponential
   backoff and blocks that receiver's later deliveries, so after an outage every pending
   alert is delivered once, in order. Receivers de-duplicate on the payload ``id``.

What fires: a transition into ``fail`` or ``error`` (and, for ``tls`` checks, into ``warn``
and each worse state — so a certificate crossing ``warn_days`` and then ``fail_days`` alerts
once per threshold, not on every run); a transition out of those states resolves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from auditor.alerting.base import DeliveryError, Receiver, redacted_target
from auditor.alerting.render import event
from auditor.config import Config, MaintenanceModel, ReceiverModel
from auditor.probe.http import HttpProber
from auditor.store.db import Database
from auditor.store.models import (
    AlertDelivery,
    AlertState,
    Check,
    CheckState,
    MaintenanceWindow,
    Service,
    Transition,
    utcnow,
)

log = structlog.get_logger("auditor.alerting")

FIRING_STATES = frozenset({"fail", "error"})
_RANK = {"unknown": 0, "pass": 0, "warn": 1, "fail": 2, "error": 2}
# AlertState.notes keys of an alert opened inside a maintenance window, not yet announced
_MUTED_KEYS = ("muted", "muted_previous")


def firing_states(kind: str) -> frozenset[str]:
    return FIRING_STATES | {"warn"} if kind == "tls" else FIRING_STATES


def classify(kind: str, previous: str, state: str) -> str | None:
    """``firing``, ``resolved`` or None (nothing to tell) for one transition.

    ``unknown`` is no news (e.g. stale data after a restart): a transition into it neither
    fires nor resolves, so an open alert stays open until the check is known again.
    """
    if state == "unknown":
        return None
    bad = firing_states(kind)
    if state in bad:
        if previous not in bad:
            return "firing"
        if kind == "tls" and _RANK.get(state, 0) > _RANK.get(previous, 0):
            return "firing"  # a certificate crossed the next threshold
        return None
    if previous in bad:
        return "resolved"
    return None


def acknowledged(notes: dict[str, Any]) -> bool:
    """An operator acknowledged the open alert: reminders stop until it resolves or reopens.

    An acknowledgement older than the alert's opening belongs to an earlier alert.
    """
    ack, since = notes.get("ack"), notes.get("firing_since")
    if not isinstance(ack, dict) or not ack.get("at"):
        return False
    try:
        return since is None or datetime.fromisoformat(ack["at"]) >= datetime.fromisoformat(since)
    except (TypeError, ValueError):
        return False


def acknowledge(store: Database, check_id: str, transition_id: str, by: str, now: datetime) -> None:
    """Record who acknowledged a state change on every alert state of its check (notes.ack)."""
    ack = {"by": by, "at": now.isoformat(), "transition_id": transition_id}
    with store.write() as s:
        for st in s.exec(select(AlertState).where(AlertState.check_id == check_id)).all():
            st.notes = {**(st.notes or {}), "ack": ack}
            s.add(st)


def matches(cfg: ReceiverModel, svc: Service, chk: Check) -> bool:
    """All ``match`` keys must hold; within a key any listed value matches."""
    for key, values in cfg.match.items():
        if not values:
            continue
        if key == "service":
            ok = svc.name in values
        elif key == "environment":
            ok = svc.environment in values
        elif key == "severity":
            ok = chk.severity in values
        elif key in ("tag", "tags"):
            ok = any(t in values for t in (svc.tags or []))
        elif key == "kind":
            ok = chk.kind in values
        elif key == "owner":
            ok = svc.owner in values
        else:  # pragma: no cover - config validation rejects other keys
            ok = False
        if not ok:
            return False
    return True


# -- maintenance windows ------------------------------------------------------------------


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """A one-off (start/end) or recurring (cron schedule + duration) maintenance window."""

    name: str
    services: tuple[str, ...] = ()  # empty: every service
    start: datetime | None = None
    end: datetime | None = None
    schedule: str | None = None
    duration_s: float | None = None

    @classmethod
    def from_model(cls, m: MaintenanceModel) -> Window:
        return cls(
            name=m.name,
            services=tuple(m.services),
            start=_parse_time(m.start),
            end=_parse_time(m.end),
            schedule=m.schedule,
            duration_s=m.duration,
        )

    @classmethod
    def from_row(cls, row: MaintenanceWindow) -> Window:
        return cls(
            name=row.name,
            services=tuple(row.services or ()),
            start=row.starts_at,
            end=row.ends_at,
            schedule=row.schedule,
            duration_s=row.duration_s,
        )

    def active(self, service: str, at: datetime) -> bool:
        if self.services and service not in self.services:
            return False
        if self.schedule:
            if not self.duration_s:
                return False
            from apscheduler.triggers.cron import CronTrigger

            trigger = CronTrigger.from_crontab(self.schedule, timezone="UTC")
            since = at - timedelta(seconds=self.duration_s) + timedelta(microseconds=1)
            fire = trigger.get_next_fire_time(None, since)
            if fire is None or fire > at:
                return False
            return (self.start is None or at >= self.start) and (self.end is None or at < self.end)
        if self.start is None and self.end is None:
            return False
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)


def in_maintenance(windows: Sequence[Window], service: str, at: datetime) -> bool:
    return any(w.active(service, at) for w in windows)


# -- receivers ----------------------------------------------------------------------------


def build_receiver(cfg: ReceiverModel, prober: HttpProber, config: Config) -> Receiver:
    if cfg.type == "webhook":
        from auditor.alerting.webhook import WebhookReceiver

        return WebhookReceiver(cfg, prober)
    if cfg.type == "slack":
        from auditor.alerting.slack import SlackReceiver

        return SlackReceiver(cfg, prober)
    if cfg.type == "alertmanager":
        from auditor.alerting.alertmanager import AlertmanagerReceiver

        return AlertmanagerReceiver(cfg, prober)
    from auditor.alerting.email import EmailReceiver

    return EmailReceiver(cfg, config.auditor.address_policy())


@dataclass(frozen=True)
class _Leased:
    id: str
    receiver: str
    attempts: int
    payload: dict[str, Any]


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
        self.config = config
        self.node_id = node_id
        self.clock = clock
        self.lease_s = lease_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.batch = batch
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
        self.windows = [Window.from_model(m) for m in config.alerting.maintenance]
        base = config.auditor.public_url or f"http://{config.auditor.listen}"
        self.base_url = base.rstrip("/")

    # -- loop -----------------------------------------------------------------------------

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
            if self._own_prober:
                await self.prober.aclose()
            log.info("dispatcher_stopped", node=self.node_id)

    async def tick(self) -> int:
        """Plan new transitions and reminders, then deliver what is due; returns deliveries sent."""
        now = self.clock()
        await asyncio.to_thread(self.plan_transitions, now)
        await asyncio.to_thread(self.plan_reminders, now)
        return await self.deliver_due()

    # -- helpers --------------------------------------------------------------------------

    def _windows(self, s: Session, now: datetime) -> list[Window]:
        rows = s.exec(select(MaintenanceWindow).where(col(MaintenanceWindow.deleted_at).is_(None)))
        return self.windows + [Window.from_row(r) for r in rows.all()]

    def _url(self, svc: Service) -> str:
        return f"{self.base_url}/services/{svc.name}"

    def _payload(
        self,
        *,
        id: str,
        status: str,
        svc: Service,
        chk: Check,
        state: str,
        previous_state: str,
        findings: Sequence[Mapping[str, Any]],
        at: datetime,
        summary: str,
        purpose: str,
        receiver: ReceiverModel,
    ) -> dict[str, Any]:
        body = event(
            id=id,
            status=status,
            service=svc.name,
            check=chk.name,
            kind=chk.kind,
            state=state,
            previous_state=previous_state,
            findings=findings,
            at=at,
            url=self._url(svc),
            severity=chk.severity,
            environment=svc.environment,
            summary=summary,
            purpose=purpose,
            check_id=chk.id,
            service_id=svc.id,
        )
        body["target"] = redacted_target(receiver)
        return body

    # -- 1. plan transitions --------------------------------------------------------------

    def plan_transitions(self, now: datetime | None = None) -> int:
        """Claim and process a batch of pending transitions; returns how many were processed."""
        now = now or self.clock()
        with self.store.write(background=True) as s:
            stmt = (
                select(Transition)
                .where(
                    col(Transition.processed_at).is_(None),
                    sa.or_(
                        col(Transition.claimed_until).is_(None),
                        col(Transition.claimed_until) < now,
                    ),
                )
                .order_by(col(Transition.created_at), col(Transition.at))
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            transitions = list(s.exec(stmt).all())
            if not transitions:
                return 0
            check_ids = list({t.check_id for t in transitions})
            checks = {
                c.id: c for c in s.exec(select(Check).where(col(Check.id).in_(check_ids))).all()
            }
            svc_ids = list({c.service_id for c in checks.values()})
            services = {
                v.id: v for v in s.exec(select(Service).where(col(Service.id).in_(svc_ids))).all()
            }
            cstates = {
                c.check_id: c
                for c in s.exec(
                    select(CheckState).where(col(CheckState.check_id).in_(check_ids))
                ).all()
            }
            astates = {
                (a.check_id, a.receiver): a
                for a in s.exec(
                    select(AlertState).where(col(AlertState.check_id).in_(check_ids))
                ).all()
            }
            windows = self._windows(s, now)
            for t in transitions:
                t.claimed_by = self.node_id
                t.claimed_until = now + timedelta(seconds=self.lease_s)
                chk = checks.get(t.check_id)
                svc = services.get(chk.service_id) if chk else None
                if chk is not None and svc is not None:
                    cst = cstates.get(chk.id)
                    self._plan_one(s, t, chk, svc, cst, astates, windows, now)
                t.processed_at = now
                s.add(t)
            return len(transitions)

    def _plan_one(
        self,
        s: Session,
        t: Transition,
        chk: Check,
        svc: Service,
        cst: CheckState | None,
        astates: dict[tuple[str, str], AlertState],
        windows: Sequence[Window],
        now: datetime,
    ) -> None:
        status = classify(chk.kind, t.previous_state, t.state)
        if status is None:
            return
        suppressed = in_maintenance(windows, svc.name, t.at) or in_maintenance(
            windows, svc.name, now
        )
        for rcv in self.receiver_cfgs.values():
            if not matches(rcv, svc, chk):
                continue
            ast = astates.get((chk.id, rcv.name))
            if ast is None:
                ast = AlertState(check_id=chk.id, receiver=rcv.name, firing=False, notes={})
                astates[(chk.id, rcv.name)] = ast
            notes = dict(ast.notes or {})
            muted = bool(notes.get("muted"))  # opened inside a window, not announced yet
            if status == "firing" and t.previous_state == "unknown" and ast.firing and not muted:
                # back from unknown to a bad state while the alert is still open: nothing
                # new unless it is worse than what was announced (a TLS threshold)
                told = notes.get("state")
                if told is None or classify(chk.kind, str(told), t.state) != "firing":
                    continue
            if status == "resolved" and (not ast.firing or muted):
                if muted:  # recovered before it was announced: close it, send nothing
                    ast.firing = False
                    for key in _MUTED_KEYS:
                        notes.pop(key, None)
                    ast.notes = notes
                    s.add(ast)
                continue  # never announced (e.g. fired inside a maintenance window)
            if not suppressed:
                if status == "firing":
                    ast.firing = True
                    notes.update(firing_since=t.at.isoformat(), reminders=0, state=t.state)
                    for key in ("last_reminder_at", *_MUTED_KEYS):
                        notes.pop(key, None)
                else:
                    ast.firing = False
                ast.last_transition_id = t.id
                ast.notes = notes
                s.add(ast)
                if status == "resolved" and not rcv.send_resolved:
                    continue
            elif status == "firing" and (not ast.firing or muted):
                # Began inside a maintenance window: open the alert unannounced, so that
                # plan_reminders announces it when the window ends if the check still fails.
                ast.firing = True
                ast.last_transition_id = t.id
                notes.update(
                    muted=t.id,
                    muted_previous=t.previous_state,
                    state=t.state,
                    firing_since=t.at.isoformat(),
                    reminders=0,
                )
                for key in ("last_reminder_at", "announced_at"):
                    notes.pop(key, None)
                ast.notes = notes
                s.add(ast)
            payload = self._payload(
                id=t.id,
                status=status,
                svc=svc,
                chk=chk,
                state=t.state,
                previous_state=t.previous_state,
                findings=t.findings or [],
                at=t.at,
                summary=cst.last_summary if cst else "",
                purpose="notify",
                receiver=rcv,
            )
            s.add(
                AlertDelivery(
                    transition_id=t.id,
                    receiver=rcv.name,
                    purpose="notify",
                    status="suppressed" if suppressed else "pending",
                    next_attempt_at=None if suppressed else now,
                    last_error="maintenance window" if suppressed else None,
                    payload=payload,
                    created_at=t.created_at,
                    updated_at=now,
                )
            )

    # -- 2. reminders and late resolves ---------------------------------------------------

    def plan_reminders(self, now: datetime | None = None) -> int:
        now = now or self.clock()
        created = 0
        with self.store.write(background=True) as s:
            open_alerts = list(
                s.exec(
                    select(AlertState)
                    .where(col(AlertState.firing).is_(True))
                    .with_for_update(skip_locked=True)
                ).all()
            )
            if not open_alerts:
                return 0
            ids = list({a.check_id for a in open_alerts})
            checks = {c.id: c for c in s.exec(select(Check).where(col(Check.id).in_(ids))).all()}
            cstates = {
                c.check_id: c
                for c in s.exec(select(CheckState).where(col(CheckState.check_id).in_(ids))).all()
            }
            svc_ids = list({c.service_id for c in checks.values()})
            services = {
                v.id: v for v in s.exec(select(Service).where(col(Service.id).in_(svc_ids))).all()
            }
            # a state change still in the outbox is the transition planner's to announce: judged
            # here from the newer state, it would go out as a late resolve under another id
            outbox = set(
                s.exec(
                    select(Transition.check_id)
                    .where(
                        col(Transition.processed_at).is_(None), col(Transition.check_id).in_(ids)
                    )
                    .distinct()
                ).all()
            )
            windows = self._windows(s, now)
            for ast in open_alerts:
                rcv = self.receiver_cfgs.get(ast.receiver)
                chk = checks.get(ast.check_id)
                svc = services.get(chk.service_id) if chk else None
                cst = cstates.get(ast.check_id)
                if rcv is None or chk is None or svc is None or ast.last_transition_id is None:
                    continue
                if ast.check_id in outbox:
                    continue
                if in_maintenance(windows, svc.name, now):
                    continue
                notes = dict(ast.notes or {})
                state = cst.state if cst else "unknown"
                findings = (cst.last_findings or []) if cst else []
                summary = cst.last_summary if cst else ""
                if chk.enabled and state == "unknown":
                    continue  # no news: the alert stays open, neither resolved nor reminded
                if notes.get("muted"):
                    # opened inside a maintenance window that is now over: announce it if the
                    # check still fails (a new id: the suppressed notification never left),
                    # else close it silently — nothing stale is sent
                    muted = str(notes["muted"])
                    previous = str(notes.get("muted_previous") or "unknown")
                    for key in _MUTED_KEYS:
                        notes.pop(key, None)
                    ast.notes = notes
                    s.add(ast)
                    if not chk.enabled or state not in firing_states(chk.kind):
                        ast.firing = False
                        continue
                    notes.update(announced_at=now.isoformat(), state=state)
                    ast.notes = notes
                    s.add(
                        self._delivery(
                            ast,
                            rcv,
                            "notify-late",
                            f"{muted}:late",
                            "firing",
                            svc,
                            chk,
                            state,
                            findings,
                            summary,
                            now,
                            previous_state=previous,
                        )
                    )
                    created += 1
                    continue
                if not chk.enabled or state not in firing_states(chk.kind):
                    # recovered while notifications were suppressed: close it now
                    ast.firing = False
                    ast.notes = notes
                    s.add(ast)
                    if rcv.send_resolved:
                        n = int(notes.get("late", 0)) + 1
                        notes["late"] = n
                        ast.notes = notes
                        s.add(
                            self._delivery(
                                ast,
                                rcv,
                                f"resolve-{n}",
                                f"{ast.last_transition_id}:resolve:{n}",
                                "resolved",
                                svc,
                                chk,
                                state,
                                findings,
                                summary,
                                now,
                            )
                        )
                        created += 1
                    continue
                if not rcv.repeat_interval or acknowledged(notes):
                    continue
                marks = [ast.last_sent_at]
                for key in ("last_reminder_at", "firing_since", "announced_at"):
                    if notes.get(key):
                        marks.append(datetime.fromisoformat(notes[key]))
                known = [m for m in marks if m is not None]
                if not known or now - max(known) < timedelta(seconds=rcv.repeat_interval):
                    continue
                n = int(notes.get("reminders", 0)) + 1
                notes.update(reminders=n, last_reminder_at=now.isoformat())
                ast.notes = notes
                s.add(ast)
                s.add(
                    self._delivery(
                        ast,
                        rcv,
                        f"reminder-{n}",
                        f"{ast.last_transition_id}:reminder:{n}",
                        "firing",
                        svc,
                        chk,
                        state,
                        findings,
                        summary,
                        now,
                    )
                )
                created += 1
        return created

    def _delivery(
        self,
        ast: AlertState,
        rcv: ReceiverModel,
        purpose: str,
        alert_id: str,
        status: str,
        svc: Service,
        chk: Check,
        state: str,
        findings: Sequence[Mapping[str, Any]],
        summary: str,
        now: datetime,
        previous_state: str | None = None,
    ) -> AlertDelivery:
        assert ast.last_transition_id is not None
        if previous_state is None:
            previous_state = state if status == "firing" else "fail"
        return AlertDelivery(
            transition_id=ast.last_transition_id,
            receiver=rcv.name,
            purpose=purpose,
            status="pending",
            next_attempt_at=now,
            payload=self._payload(
                id=alert_id,
                status=status,
                svc=svc,
                chk=chk,
                state=state,
                previous_state=previous_state,
                findings=findings,
                at=now,
                summary=summary,
                purpose=purpose,
                receiver=rcv,
            ),
            created_at=now,
            updated_at=now,
        )

    # -- 3. deliver -----------------------------------------------------------------------

    def _lease_heads(self, now: datetime) -> list[_Leased]:
        """Lease the oldest pending delivery of each receiver, if it is due.

        The head is chosen per receiver (not from the oldest N pending rows overall), so a
        receiver with a long backlog cannot starve the others.
        """
        with self.store.write(background=True) as s:
            names = sorted(
                s.exec(
                    select(AlertDelivery.receiver)
                    .where(AlertDelivery.status == "pending")
                    .distinct()
                ).all()
            )
            heads: dict[str, AlertDelivery] = {}
            for name in names:
                head = s.exec(
                    select(AlertDelivery)
                    .where(AlertDelivery.status == "pending", AlertDelivery.receiver == name)
                    .order_by(col(AlertDelivery.created_at), col(AlertDelivery.id))
                    .limit(1)
                    .with_for_update()
                ).first()
                if head is not None:
                    heads[name] = head
            windows: list[Window] | None = None
            out = []
            for name, d in heads.items():
                if d.next_attempt_at is not None and d.next_attempt_at > now:
                    continue  # leased by a node, or backing off: later ones wait (order)
                if name not in self.receivers:
                    d.status, d.last_error, d.updated_at = "failed", "receiver not configured", now
                    s.add(d)
                    continue
                if windows is None:
                    windows = self._windows(s, now)
                if in_maintenance(windows, str(d.payload.get("service", "")), now):
                    d.status, d.last_error, d.updated_at = "suppressed", "maintenance window", now
                    s.add(d)
                    continue
                d.attempts = (d.attempts or 0) + 1
                d.next_attempt_at = now + timedelta(seconds=self.lease_s)
                d.updated_at = now
                s.add(d)
                out.append(_Leased(d.id, d.receiver, d.attempts, dict(d.payload)))
            return out

    def backoff(self, attempts: int) -> float:
        return float(min(self.backoff_base_s * (2 ** max(attempts - 1, 0)), self.backoff_max_s))

    async def deliver_due(self, max_rounds: int = 100) -> int:
        sent = 0
        for _ in range(max_rounds):
            now = self.clock()
            leased = await asyncio.to_thread(self._lease_heads, now)
            if not leased:
                break
            outcomes = await asyncio.gather(*(self._send(item) for item in leased))
            await asyncio.to_thread(self._record, list(zip(leased, outcomes, strict=True)))
            sent += sum(1 for o in outcomes if o is None)
        return sent

    def send_deadline(self, receiver: str) -> float:
        """Total time one send may take: the receiver's ``timeout``, well inside the lease
        (a send outliving its lease would be re-sent by another node)."""
        cfg = self.receiver_cfgs.get(receiver)
        return min(cfg.timeout if cfg else 10.0, self.lease_s / 2)

    async def _send(self, item: _Leased) -> DeliveryError | None:
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

    def _record(self, results: list[tuple[_Leased, DeliveryError | None]]) -> None:
        now = self.clock()
        with self.store.write(background=True) as s:
            for item, err in results:
                d = s.get(AlertDelivery, item.id)
                if d is None or d.status != "pending":
                    continue
                d.updated_at = now
                if err is None:
                    d.status = "delivered"
                    d.delivered_at = now
                    d.next_attempt_at = None
                    d.last_error = None
                    ast = s.get(AlertState, (str(item.payload.get("check_id")), item.receiver))
                    if ast is not None:
                        ast.last_sent_at = now
                        s.add(ast)
                else:
                    d.last_error = err.message[:500]
                    d.last_status_code = err.status_code
                    if err.permanent:
                        d.status = "failed"
                        d.next_attempt_at = None
                    else:
                        d.next_attempt_at = now + timedelta(seconds=self.backoff(item.attempts))
                s.add(d)


# -- queries (for the API) ----------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def delivery_view(d: AlertDelivery) -> dict[str, Any]:
    p = d.payload or {}
    return {
        "id": d.id,
        "transition_id": d.transition_id,
        "alert_id": p.get("id"),
        "receiver": d.receiver,
        "target": p.get("target", ""),
        "purpose": d.purpose,
        "status": d.status,
        "alert_status": p.get("status"),
        "service": p.get("service"),
        "service_id": p.get("service_id"),
        "check": p.get("check"),
        "check_id": p.get("check_id"),
        "state": p.get("state"),
        "previous_state": p.get("previous_state"),
        "attempts": d.attempts,
        "next_attempt_at": _iso(d.next_attempt_at),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "delivered_at": _iso(d.delivered_at),
        "created_at": _iso(d.created_at),
        "updated_at": _iso(d.updated_at),
    }


def list_deliveries(
    store: Database,
    *,
    service_id: str | None = None,
    check_id: str | None = None,
    receiver: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Delivery history, newest first: ``(rows as dicts, total matching)``.

    Rows carry the receiver's name and a redacted target, never a secret or a full URL.
    Filter by service / check (through the transition), receiver name or status
    (``pending | delivered | failed | suppressed``).
    """
    with store.read() as s:
        stmt = select(AlertDelivery).join(
            Transition, col(Transition.id) == col(AlertDelivery.transition_id)
        )
        if service_id:
            stmt = stmt.where(Transition.service_id == service_id)
        if check_id:
            stmt = stmt.where(Transition.check_id == check_id)
        if receiver:
            stmt = stmt.where(AlertDelivery.receiver == receiver)
        if status:
            stmt = stmt.where(AlertDelivery.status == status)
        total = int(s.exec(select(sa.func.count()).select_from(stmt.subquery())).one())
        rows = s.exec(
            stmt.order_by(col(AlertDelivery.created_at).desc(), col(AlertDelivery.id))
            .offset(offset)
            .limit(limit)
        ).all()
    return [delivery_view(d) for d in rows], total
