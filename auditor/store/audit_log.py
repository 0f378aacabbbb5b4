"""The audit log: who changed what, when and from where — in the transaction of the change.

A caller (a web request, a CLI command) opens an :class:`AuditScope` naming the action, its
target and a way to tell the actor. While the scope is active, every ORM flush is watched
(SQLAlchemy ``before_flush``): the first flush that writes the target row adds the
:class:`AuditEvent` *to that same flush*, and later flushes update its diff, so a change is
never committed without its audit row (and a rolled-back change leaves none). The diff comes
from the ORM's own attribute history — ``{field: [old, new]}``, redacted by
:mod:`auditor.store.redact` — so repositories need not return before/after copies.

Actions with no row of their own (a login, run now, an acknowledgement) are written with
:func:`record` once the caller knows the outcome.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, col

from auditor.store.audit_models import AuditEvent
from auditor.store.db import Database
from auditor.store.listing import PREDICATES, Criterion, Listing, list_rows
from auditor.store.models import ApiToken, Attestation, Check, Service, User, Waiver, utcnow
from auditor.store.redact import redact_changes

#: target types whose rows are diffed, by the model holding them
MODELS: dict[str, type[Any]] = {
    "service": Service,
    "check": Check,
    "waiver": Waiver,
    "attestation": Attestation,
    "token": ApiToken,
    "user": User,
}

#: bookkeeping columns that change on their own; never part of a diff
IGNORED = frozenset(
    {"id", "created_at", "updated_at", "last_used_at", "next_run_at", "lease_owner", "lease_until"}
)
USER_AGENT_MAX = 255


@dataclass(frozen=True)
class Actor:
    kind: str  # user | token | cli | config | discovery | anonymous
    id: str | None = None
    name: str = ""


@dataclass(frozen=True)
class Origin:
    source_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass
class AuditScope:
    """One audited operation. ``match`` names the column of a watched row that must equal
    ``target_id`` (``id`` by default); with no ``target_id``, only new rows are watched (a
    create) and the first one becomes the target."""

    action: str
    target_type: str
    actor: Callable[[], Actor]
    origin: Origin = field(default_factory=Origin)
    target_id: str | None = None
    target_name: str = ""
    watch: str | None = None  # model key of MODELS; defaults to target_type
    match: str = "id"
    changes: dict[str, list[Any]] = field(default_factory=dict)
    event: AuditEvent | None = None
    session: Session | None = None

    @property
    def written(self) -> bool:
        return self.event is not None


_CURRENT: ContextVar[AuditScope | None] = ContextVar("auditor_audit_scope", default=None)


@contextmanager
def active(scope: AuditScope) -> Iterator[AuditScope]:
    """Watch flushes for ``scope`` while the block runs."""
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


@contextmanager
def cli_audit(action: str, target_type: str) -> Iterator[AuditScope]:
    """Audit a CLI command's change; the actor is the local account that ran it."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        who = "unknown"
    actor = Actor("cli", None, f"cli:{who}")
    with active(AuditScope(action, target_type, lambda: actor)) as scope:
        yield scope


def activate(scope: AuditScope) -> Callable[[], None]:
    """Start watching for ``scope``; call the returned function to stop (request hooks)."""
    token = _CURRENT.set(scope)
    return lambda: _CURRENT.reset(token)


def current() -> AuditScope | None:
    return _CURRENT.get()


def build_event(
    scope: AuditScope, *, outcome: str = "success", at: datetime | None = None
) -> AuditEvent:
    actor = scope.actor()
    ua = scope.origin.user_agent
    return AuditEvent(
        at=at or utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name[:255],
        action=scope.action,
        target_type=scope.target_type,
        target_id=scope.target_id,
        target_name=scope.target_name[:255],
        changes=redact_changes({k: (v[0], v[1]) for k, v in scope.changes.items()}),
        source_ip=scope.origin.source_ip,
        user_agent=ua[:USER_AGENT_MAX] if ua else None,
        request_id=scope.origin.request_id,
        outcome=outcome,
    )


def record(db: Database, scope: AuditScope, *, outcome: str = "success") -> AuditEvent:
    """Write the scope's event in its own transaction (actions that change no watched row)."""
    row = build_event(scope, outcome=outcome)
    with db.write() as s:
        s.add(row)
    scope.event = row
    return row


# -- watching flushes ---------------------------------------------------------------------


def name_of(obj: Any) -> str:
    for attr in ("name", "username", "item"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    return ""


def _diff(obj: Any, is_new: bool) -> dict[str, tuple[Any, Any]]:
    state = sa.inspect(obj)
    out: dict[str, tuple[Any, Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in IGNORED:
            continue
        if is_new:
            value = getattr(obj, key)
            if value is not None and value != "" and value != [] and value != {}:
                out[key] = (None, value)
            continue
        hist = state.attrs[key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if old != new:
            out[key] = (old, new)
    return out


def _merge(scope: AuditScope, diff: dict[str, tuple[Any, Any]]) -> None:
    for key, (old, new) in diff.items():
        first = scope.changes[key][0] if key in scope.changes else old
        if first == new:
            scope.changes.pop(key, None)
        else:
            scope.changes[key] = [first, new]


def _watched(session: Session, scope: AuditScope) -> list[tuple[Any, bool]]:
    model = MODELS.get(scope.watch or scope.target_type)
    if model is None:
        return []
    rows = [(o, True) for o in session.new if isinstance(o, model)]
    if scope.target_id is None:
        return rows[:1]
    rows += [(o, False) for o in session.dirty if isinstance(o, model)]
    return [(o, new) for o, new in rows if getattr(o, scope.match, None) == scope.target_id]


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    scope = _CURRENT.get()
    if scope is None:
        return
    touched = False
    for obj, is_new in _watched(session, scope):
        diff = _diff(obj, is_new)
        if not diff and not is_new:
            continue
        if scope.target_id is None:
            scope.target_id = obj.id
        if scope.match == "id" and not scope.target_name:
            scope.target_name = name_of(obj)
        _merge(scope, diff)
        touched = True
    if touched:
        _write(session, scope)


def _write(session: Session, scope: AuditScope) -> None:
    fresh = build_event(scope)
    if scope.event is None:
        session.add(fresh)
        scope.event, scope.session = fresh, session
        return
    row = scope.event if scope.session is session else session.merge(scope.event)
    row.changes = fresh.changes
    row.target_name = fresh.target_name
    session.add(row)
    scope.event, scope.session = row, session


# -- reading and retention ----------------------------------------------------------------


def _actor_is(model: Any, value: Any) -> Any:
    return sa.or_(col(AuditEvent.actor_id) == value, col(AuditEvent.actor_name) == value)


PREDICATES["audit_actor"] = _actor_is


def list_events(db: Database, criteria: Sequence[Criterion], *, offset: int, limit: int) -> Listing:
    """Events matching every criterion, newest first."""
    return list_rows(db, AuditEvent, criteria, sort="-at", offset=offset, limit=limit)


def prune_events(db: Database, before: datetime) -> int:
    """Delete events older than ``before``; returns how many."""
    with db.write(background=True) as s:
        result = s.execute(sa.delete(AuditEvent).where(col(AuditEvent.at) < before))
    return max(int(getattr(result, "rowcount", 0) or 0), 0)
