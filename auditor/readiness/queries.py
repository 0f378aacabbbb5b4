"""Load readiness inputs from the store and evaluate them (for dashboard, API, metrics, gate).

Public API (stable; other modules call these):

- :func:`load_service_readiness` ``(store, service_id, now, **opts) -> ServiceReadiness`` —
  one service, by id (a service *name* is accepted too); raises ``LookupError`` if absent.
  A *disabled* service (removed from the config, kept with its history) still answers, so
  the API, the dashboard page and the gate can show what it was.
- :func:`load_all_readiness` ``(store, now, **opts) -> dict[service_id, ServiceReadiness]`` —
  every enabled, non-deleted service (a disabled one is not exported as a metric or listed).
- :func:`load_fleet` — the same plus every enabled check's latest state, for ``/metrics``.

The whole-fleet evaluation shared between concurrent readers is :mod:`auditor.readiness.cache`.

Both read only ``service``, ``check_def``, ``check_state``, ``waiver`` and ``attestation``
(never the ``run`` history), in one read session. Disabled and deleted checks are ignored.
``opts`` are passed to :func:`auditor.readiness.score.evaluate_service`: ``min_score`` (default 0),
``required_level`` (default ``"bronze"``), ``max_age_s`` (data older than this is stale).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from auditor.readiness.model import (
    AttestationInput,
    CheckInput,
    ServiceInput,
    ServiceReadiness,
    WaiverInput,
)
from auditor.readiness.score import evaluate_service
from auditor.store.db import Database
from auditor.store.models import Attestation, Check, CheckState, Service, Waiver

_T = TypeVar("_T")


def _max_age(options: Mapping[str, Any]) -> float | None:
    raw = options.get("max_age")
    if raw is None:
        return None
    try:
        from checks.units import parse_duration

        return float(parse_duration(raw))
    except (TypeError, ValueError):
        return None


_FIELD_NAMES: dict[type, tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls))
    for cls in (ServiceInput, WaiverInput, AttestationInput)
}


def _from_row(cls: type[_T], row: Any, **converted: Any) -> _T:
    """A readiness input from a row whose columns bear its field names (``converted``: the
    fields that need more than a copy)."""
    values = {name: getattr(row, name) for name in _FIELD_NAMES[cls] if name not in converted}
    return cls(**values, **converted)


def _service_input(row: Any) -> ServiceInput:
    return _from_row(ServiceInput, row, tags=tuple(row.tags or ()))


def _waiver_input(w: Any) -> WaiverInput:
    return _from_row(WaiverInput, w)


def _attestation_input(a: Any) -> AttestationInput:
    return _from_row(AttestationInput, a)


#: the columns readiness needs (Core selects: no ORM instances for thousands of rows)
_SERVICE_COLUMNS = ("id", "name", "environment", "profile", "owner", "tags")
_CHECK_COLUMNS = (
    "id",
    "service_id",
    "name",
    "kind",
    "severity",
    "level",
    "blocking",
    "interval_s",
    "description",
)
_STATE_COLUMNS = (
    "state",
    "raw_status",
    "since",
    "last_run_at",
    "last_summary",
    "last_findings",
    "consecutive_fail",
    "consecutive_pass",
    "consecutive_error",
)
_WAIVER_COLUMNS = ("id", "check_id", "reason", "created_by", "expires_at", "created_at")


def _tables() -> tuple[sa.Table, sa.Table, sa.Table, sa.Table, sa.Table]:
    return (
        Service.__table__,  # type: ignore[attr-defined]
        Check.__table__,  # type: ignore[attr-defined]
        CheckState.__table__,  # type: ignore[attr-defined]
        Waiver.__table__,  # type: ignore[attr-defined]
        Attestation.__table__,  # type: ignore[attr-defined]
    )


def _in_scope(column: Any, one: bool) -> Any:
    """``column`` belongs to the one service (``:service_id``), or to any enabled, live one.

    A subquery rather than a list of ids: with 1,000 services and 8,000 checks, binding
    the ids cost more than the queries themselves."""
    if one:
        return column == sa.bindparam("service_id")
    svt = _tables()[0]
    return column.in_(
        sa.select(svt.c.id).where(svt.c.enabled.is_(True), svt.c.deleted_at.is_(None))
    )


def _no_empty_list(column: Any) -> Any:
    """``NULL`` for the stored ``[]`` (most checks pass without findings): thousands of
    JSON decodes a fleet load no longer does; both read back as no findings."""
    empty = sa.cast(column, sa.Text) == "[]"
    return sa.type_coerce(sa.case((empty, sa.null()), else_=column), column.type).label(column.name)


@functools.cache
def _check_rows_stmt(one: bool) -> Any:
    """Built once (parameters: ``service_id`` when ``one``): building and keying a statement
    cost three times what running it does for one service's eight checks."""
    _, ct, st, _, _ = _tables()
    # ``options`` matters to attestation checks only (item, max_age): skip decoding the rest
    options = sa.case((ct.c.kind == "attestation", ct.c.options), else_=sa.null())
    columns = [ct.c[name] for name in _CHECK_COLUMNS] + [
        _no_empty_list(st.c[name]) if name == "last_findings" else st.c[name]
        for name in _STATE_COLUMNS
    ]
    # for /metrics (see :func:`load_fleet`): the last duration, and tls/headers facts only
    facts = sa.case((ct.c.kind.in_(("tls", "headers")), st.c.metrics), else_=sa.null())
    stmt = (
        sa.select(*columns, options.label("options"), st.c.last_duration_ms, facts.label("facts"))
        .select_from(ct.outerjoin(st, st.c.check_id == ct.c.id))
        .where(
            _in_scope(ct.c.service_id, one),
            ct.c.enabled.is_(True),
            ct.c.deleted_at.is_(None),
        )
    )
    # the fleet streams service by service (see :func:`_fleet`)
    return stmt if one else stmt.order_by(ct.c.service_id, ct.c.id)


def _check_input(
    row: Any,
    waiver: Any | None,
    attestations: Mapping[tuple[str, str], Any],
) -> CheckInput:
    """One row of :func:`_check_rows_stmt` (unpacked by position: ``Row`` attribute access
    costs more than the rest of the evaluation for a fleet)."""
    (cid, service_id, name, kind, severity, level, blocking, interval_s, description,
     state, raw_status, since, last_run_at, summary, findings, c_fail, c_pass, c_error,
     options, _, _) = row  # fmt: skip
    item = (options or {}).get("item") if kind == "attestation" else None
    att = attestations.get((service_id, str(item))) if item else None
    return CheckInput(
        check_id=cid,
        name=name,
        kind=kind,
        severity=severity,
        level=level,
        blocking=blocking,
        interval_s=interval_s,
        description=description,
        state=state if state is not None else "unknown",
        raw_status=raw_status,
        since=since,
        last_run_at=last_run_at,
        summary=summary or "",
        findings=tuple(findings or ()),
        consecutive_fail=c_fail or 0,
        consecutive_pass=c_pass or 0,
        consecutive_error=c_error or 0,
        waiver=_waiver_input(waiver) if waiver else None,
        attestation_item=str(item) if item else None,
        attestation_max_age_s=_max_age(options) if item else None,
        attestation=_attestation_input(att) if att else None,
    )


def _pick_waivers(rows: list[Any], now: datetime) -> dict[str, Any]:
    """Per check: an active waiver if any (latest expiry), else the most recently expired."""
    best: dict[str, Any] = {}
    for w in rows:
        cur = best.get(w.check_id)
        if cur is None:
            best[w.check_id] = w
            continue
        w_active = _waiver_input(w).active(now)
        c_active = _waiver_input(cur).active(now)
        if (w_active, w.expires_at) > (c_active, cur.expires_at):
            best[w.check_id] = w
    return best


class CheckFacts(NamedTuple):
    """One enabled check's latest state as ``/metrics`` exports it (see :func:`load_fleet`)."""

    service_id: str
    service: str
    check: str
    kind: str
    interval_s: float
    state: str | None
    last_run_at: datetime | None
    last_duration_ms: float | None
    metrics: Mapping[str, Any]


_NO_FACTS: Mapping[str, Any] = MappingProxyType({})


@functools.cache
def _overlay_stmts(one: bool) -> tuple[Any, Any, Any]:
    """Services, waivers and attestations in scope (parameters: ``now``, and ``service_id``
    when ``one``), built once."""
    svt, ct, _, wt, at = _tables()
    svc_stmt = sa.select(*(svt.c[name] for name in _SERVICE_COLUMNS)).where(
        svt.c.deleted_at.is_(None)
    )
    if one:
        svc_stmt = svc_stmt.where(svt.c.id == sa.bindparam("service_id"))
    else:
        svc_stmt = svc_stmt.where(svt.c.enabled.is_(True))
    live_checks = sa.select(ct.c.id).where(
        _in_scope(ct.c.service_id, one),
        ct.c.enabled.is_(True),
        ct.c.deleted_at.is_(None),
    )
    waiver_stmt = sa.select(*(wt.c[name] for name in _WAIVER_COLUMNS)).where(
        wt.c.check_id.in_(live_checks), wt.c.deleted_at.is_(None)
    )
    attestation_stmt = (
        sa.select(at)
        .where(
            _in_scope(at.c.service_id, one),
            at.c.deleted_at.is_(None),
            at.c.signed_at <= sa.bindparam("now"),
        )
        .order_by(at.c.signed_at)
    )
    return svc_stmt.order_by(svt.c.name), waiver_stmt, attestation_stmt


def _overlays(
    conn: Any, service_id: str | None, now: datetime
) -> tuple[list[ServiceInput], dict[str, Any], dict[tuple[str, str], Any]]:
    """The services in scope (by name), and the waivers and attestations of their checks."""
    svc_stmt, waiver_stmt, attestation_stmt = _overlay_stmts(service_id is not None)
    params = {"now": now} if service_id is None else {"now": now, "service_id": service_id}
    services = [_service_input(row) for row in conn.execute(svc_stmt, params)]
    if not services:
        return [], {}, {}
    waivers = _pick_waivers(list(conn.execute(waiver_stmt, params)), now)
    attestations: dict[tuple[str, str], Any] = {}
    for a in conn.execute(attestation_stmt, params):
        attestations[(a.service_id, a.item)] = a  # newest signature wins
    return services, waivers, attestations


def _fleet(
    s: Session, now: datetime, opts: Mapping[str, Any], facts: list[CheckFacts] | None = None
) -> dict[str, ServiceReadiness]:
    """Every enabled service evaluated as its check rows stream in (ordered by service):
    no list of 8,000 rows and inputs kept alive for the garbage collector to walk."""
    conn = s.connection()
    services, waivers, attestations = _overlays(conn, None, now)
    by_id = {svc.id: svc for svc in services}
    out: dict[str, ServiceReadiness | None] = dict.fromkeys(by_id)  # by name
    current: ServiceInput | None = None
    inputs: list[CheckInput] = []
    for row in conn.execute(_check_rows_stmt(False)) if by_id else ():
        svc = by_id.get(row[1])
        if svc is None:  # a service enabled between the two reads: next time
            continue
        if svc is not current:
            if current is not None:
                out[current.id] = evaluate_service(current, inputs, now, **opts)
            current, inputs = svc, []
        inputs.append(_check_input(row, waivers.get(row[0]), attestations))
        if facts is not None:
            facts.append(
                CheckFacts(row[1], svc.name, row[2], row[3], float(row[7]), row[9], row[12],
                           row[19], row[20] if isinstance(row[20], Mapping) else _NO_FACTS)
            )  # fmt: skip
    if current is not None:
        out[current.id] = evaluate_service(current, inputs, now, **opts)
    return {
        sid: value if value is not None else evaluate_service(by_id[sid], [], now, **opts)
        for sid, value in out.items()
    }


def load_service_readiness(
    store: Database, service_id: str, now: datetime, **opts: Any
) -> ServiceReadiness:
    """Readiness of one service (by id, or by name); ``LookupError`` when it does not exist.

    A disabled service still answers (its last known states), for the API, page and gate."""
    with store.read() as s:
        return service_readiness_in(s, service_id, now, **opts)


def service_readiness_in(
    s: Session, service_id: str, now: datetime, **opts: Any
) -> ServiceReadiness:
    """:func:`load_service_readiness` inside the caller's read session (the service page
    reads everything in one: one pooled connection, and the service row from its identity
    map when the caller has loaded it already)."""
    svc = s.get(Service, service_id)
    if svc is None or svc.deleted_at is not None:
        svc = s.exec(
            select(Service).where(Service.name == service_id, col(Service.deleted_at).is_(None))
        ).first()
    if svc is None:
        raise LookupError(f"unknown service {service_id!r}")
    conn = s.connection()
    services, waivers, attestations = _overlays(conn, svc.id, now)
    inputs = [
        _check_input(row, waivers.get(row[0]), attestations)
        for row in conn.execute(_check_rows_stmt(True), {"service_id": svc.id})
    ]
    return evaluate_service(services[0], inputs, now, **opts)


def load_all_readiness(store: Database, now: datetime, **opts: Any) -> dict[str, ServiceReadiness]:
    """Readiness of every enabled, non-deleted service, keyed by service id (by name)."""
    with store.read() as s:
        return _fleet(s, now, opts)


def load_fleet(
    store: Database, now: datetime, **opts: Any
) -> tuple[dict[str, ServiceReadiness], list[CheckFacts]]:
    """:func:`load_all_readiness` plus every enabled check's latest state, from the same
    query: a cold ``/metrics`` scrape reads the check table once, not twice."""
    facts: list[CheckFacts] = []
    with store.read() as s:
        readiness = _fleet(s, now, opts, facts)
    return readiness, facts
