"""Which state changes become deliveries: routing, maintenance, send-on-resolved, reminders.

The alert state machine of Gatus and healthchecks' status flips, kept free of SQL: the
:class:`Planner` is handed a claimed transition (or an open alert) with its check, service and
alert states, moves those ``AlertState`` rows in memory and returns the delivery rows to write;
:mod:`auditor.alerting.outbox` loads and saves them, all in one transaction.

One ``AlertState`` per (check, receiver) is the machine: ``firing`` says an alert is open, and
``notes`` keep when it opened, the state announced, the reminders sent, an acknowledgement,
and — for an alert opened inside a maintenance window and not announced yet — ``muted`` and
``muted_previous``. An alert opened inside a window is announced (id ``<transition>:late``)
once the window is over if the check still fails; one that recovered inside the window sends
nothing. An alert whose check recovered while notifications were suppressed gets its (late)
resolve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor.alerting.base import redacted_target
from auditor.alerting.maintenance import Window, in_maintenance
from auditor.alerting.render import event
from auditor.alerting.rules import acknowledged, classify, firing_states, matches
from auditor.config import ReceiverModel
from auditor.store.models import AlertDelivery, AlertState, Check, CheckState, Service, Transition

# AlertState.notes keys of an alert opened inside a maintenance window, not yet announced
_MUTED_KEYS = ("muted", "muted_previous")


@dataclass(frozen=True)
class Subject:
    """The check an alert speaks of: its service, its definition and its latest state."""

    service: Service
    check: Check
    latest: CheckState | None

    @property
    def state(self) -> str:
        return self.latest.state if self.latest else "unknown"

    @property
    def findings(self) -> list[dict[str, Any]]:
        return (self.latest.last_findings or []) if self.latest else []

    @property
    def summary(self) -> str:
        return self.latest.last_summary if self.latest else ""

    def labels(self) -> dict[str, str]:
        """The payload keys naming the check and its service."""
        svc, chk = self.service, self.check
        return {
            "service": svc.name,
            "check": chk.name,
            "kind": chk.kind,
            "severity": chk.severity,
            "environment": svc.environment,
            "check_id": chk.id,
            "service_id": svc.id,
        }


@dataclass(frozen=True)
class Change:
    """What one notification tells: the part of its payload that is not the subject."""

    id: str  # the alert id receivers de-duplicate on
    status: str  # firing | resolved
    state: str
    previous_state: str
    findings: Sequence[Mapping[str, Any]]
    at: datetime
    purpose: str


@dataclass(frozen=True)
class OpenAlert:
    """A firing ``AlertState`` as the reminder planner sees it."""

    state: AlertState
    subject: Subject | None  # None: its check or service is gone
    changing: bool  # a state change of its check is still in the outbox


@dataclass
class Plan:
    """What planning changed: alert states to save and delivery rows to write."""

    states: list[AlertState] = field(default_factory=list)
    deliveries: list[AlertDelivery] = field(default_factory=list)

    def keep(self, ast: AlertState, notes: dict[str, Any]) -> None:
        ast.notes = notes
        self.states.append(ast)


class Planner:
    """Decides, per receiver, what a transition or an open alert should send."""

    def __init__(self, receivers: Mapping[str, ReceiverModel], base_url: str) -> None:
        self.receivers = receivers
        self.base_url = base_url

    # -- transitions ----------------------------------------------------------------------

    def transition(
        self,
        t: Transition,
        subject: Subject,
        alert_states: dict[tuple[str, str], AlertState],
        windows: Sequence[Window],
        now: datetime,
    ) -> Plan:
        """Route one transition; ``alert_states`` gains the states it creates."""
        plan = Plan()
        chk, svc = subject.check, subject.service
        status = classify(chk.kind, t.previous_state, t.state)
        if status is None:
            return plan
        suppressed = in_maintenance(windows, svc.name, t.at) or in_maintenance(
            windows, svc.name, now
        )
        change = Change(t.id, status, t.state, t.previous_state, t.findings or [], t.at, "notify")
        for rcv in self.receivers.values():
            if not matches(rcv, svc, chk):
                continue
            ast = alert_states.get((chk.id, rcv.name))
            if ast is None:
                ast = AlertState(check_id=chk.id, receiver=rcv.name, firing=False, notes={})
                alert_states[(chk.id, rcv.name)] = ast
            if self._move(ast, t, chk.kind, status, suppressed, rcv.send_resolved, plan):
                payload = self._payload(rcv, subject, change)
                plan.deliveries.append(
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
        return plan

    @staticmethod
    def _move(
        ast: AlertState,
        t: Transition,
        kind: str,
        status: str,
        suppressed: bool,
        send_resolved: bool,
        plan: Plan,
    ) -> bool:
        """Move one alert state for a transition; True when its receiver is to be told."""
        notes = dict(ast.notes or {})
        muted = bool(notes.get("muted"))  # opened inside a window, not announced yet
        if status == "firing" and t.previous_state == "unknown" and ast.firing and not muted:
            # back from unknown to a bad state while the alert is still open: nothing
            # new unless it is worse than what was announced (a TLS threshold)
            told = notes.get("state")
            if told is None or classify(kind, str(told), t.state) != "firing":
                return False
        if status == "resolved" and (not ast.firing or muted):
            if muted:  # recovered before it was announced: close it, send nothing
                ast.firing = False
                for key in _MUTED_KEYS:
                    notes.pop(key, None)
                plan.keep(ast, notes)
            return False  # never announced (e.g. fired inside a maintenance window)
        if not suppressed:
            if status == "firing":
                ast.firing = True
                notes.update(firing_since=t.at.isoformat(), reminders=0, state=t.state)
                for key in ("last_reminder_at", *_MUTED_KEYS):
                    notes.pop(key, None)
            else:
                ast.firing = False
            ast.last_transition_id = t.id
            plan.keep(ast, notes)
            return status != "resolved" or send_resolved
        if status == "firing" and (not ast.firing or muted):
            # Began inside a maintenance window: open the alert unannounced, so that
            # the reminder planner announces it when the window ends if the check still fails.
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
            plan.keep(ast, notes)
        return True

    # -- reminders and late notices -------------------------------------------------------

    def reminder(self, alert: OpenAlert, windows: Sequence[Window], now: datetime) -> Plan:
        """A reminder when one is due, or the late announcement or resolve of a muted alert."""
        plan = Plan()
        ast, subject = alert.state, alert.subject
        rcv = self.receivers.get(ast.receiver)
        if rcv is None or subject is None or ast.last_transition_id is None:
            return plan
        if alert.changing:
            # a state change still in the outbox is the transition planner's to announce:
            # judged here from the newer state, it would go out as a late resolve under
            # another id
            return plan
        if in_maintenance(windows, subject.service.name, now):
            return plan
        chk, state = subject.check, subject.state
        notes = dict(ast.notes or {})
        if chk.enabled and state == "unknown":
            return plan  # no news: the alert stays open, neither resolved nor reminded
        failing = chk.enabled and state in firing_states(chk.kind)
        if notes.get("muted"):
            # opened inside a maintenance window that is now over: announce it if the
            # check still fails (a new id: the suppressed notification never left),
            # else close it silently — nothing stale is sent
            muted = str(notes["muted"])
            previous = str(notes.get("muted_previous") or "unknown")
            for key in _MUTED_KEYS:
                notes.pop(key, None)
            plan.keep(ast, notes)
            if not failing:
                ast.firing = False
                return plan
            notes.update(announced_at=now.isoformat(), state=state)
            ast.notes = notes
            late = self._late(alert, rcv, now, "notify-late", f"{muted}:late", "firing", previous)
            plan.deliveries.append(late)
            return plan
        if not failing:
            # recovered while notifications were suppressed: close it now
            ast.firing = False
            plan.keep(ast, notes)
            if rcv.send_resolved:
                n = int(notes.get("late", 0)) + 1
                notes["late"] = n
                ast.notes = notes
                alert_id = f"{ast.last_transition_id}:resolve:{n}"
                plan.deliveries.append(
                    self._late(alert, rcv, now, f"resolve-{n}", alert_id, "resolved", "fail")
                )
            return plan
        if not rcv.repeat_interval or acknowledged(notes):
            return plan
        marks = [ast.last_sent_at]
        for key in ("last_reminder_at", "firing_since", "announced_at"):
            if notes.get(key):
                marks.append(datetime.fromisoformat(notes[key]))
        known = [m for m in marks if m is not None]
        if not known or now - max(known) < timedelta(seconds=rcv.repeat_interval):
            return plan
        n = int(notes.get("reminders", 0)) + 1
        notes.update(reminders=n, last_reminder_at=now.isoformat())
        plan.keep(ast, notes)
        alert_id = f"{ast.last_transition_id}:reminder:{n}"
        plan.deliveries.append(
            self._late(alert, rcv, now, f"reminder-{n}", alert_id, "firing", state)
        )
        return plan

    def _late(
        self,
        alert: OpenAlert,
        rcv: ReceiverModel,
        now: datetime,
        purpose: str,
        alert_id: str,
        status: str,
        previous_state: str,
    ) -> AlertDelivery:
        """A delivery about an open alert, due now, with the check's latest state."""
        transition_id, subject = alert.state.last_transition_id, alert.subject
        assert transition_id is not None and subject is not None
        change = Change(
            alert_id, status, subject.state, previous_state, subject.findings, now, purpose
        )
        return AlertDelivery(
            transition_id=transition_id,
            receiver=rcv.name,
            purpose=purpose,
            status="pending",
            next_attempt_at=now,
            payload=self._payload(rcv, subject, change),
            created_at=now,
            updated_at=now,
        )

    def _payload(self, rcv: ReceiverModel, subject: Subject, change: Change) -> dict[str, Any]:
        url = f"{self.base_url}/services/{subject.service.name}"
        body = event(url=url, summary=subject.summary, **(asdict(change) | subject.labels()))
        body["target"] = redacted_target(rcv)
        return body
