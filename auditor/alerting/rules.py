"""Pure alerting rules: which state changes fire or resolve, who receives them, acks.

What fires: a transition into ``fail`` or ``error`` (and, for ``tls`` checks, into ``warn``
and each worse state — so a certificate crossing ``warn_days`` and then ``fail_days`` alerts
once per threshold, not on every run); a transition out of those states resolves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auditor.config import ReceiverModel
from auditor.store.models import Check, Service

FIRING_STATES = frozenset({"fail", "error"})
_RANK = {"unknown": 0, "pass": 0, "warn": 1, "fail": 2, "error": 2}


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
