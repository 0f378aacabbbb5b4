"""Load readiness inputs from the store and evaluate them (for dashboard, API, metrics, gate).

Public API (stable; other modules call these):

- :func:`load_service_readiness` ``(store, service_id, now, **opts) -> ServiceReadiness`` —
  one service, by id (a service *name* is accepted too); raises ``LookupError`` if absent.
  A *disabled* service (removed from the config, kept with its history) still answers, so
  the API, the dashboard page and the gate can show what it was.
- :func:`load_all_readiness` ``(store, now, **opts) -> dict[service_id, ServiceReadiness]`` —
  every enabled, non-deleted service (a disabled one is not exported as a metric or listed).

Both read only ``service``, ``check_def``, ``check_state``, ``waiver`` and ``attestation``
(never the ``run`` history), in one read session. Disabled and deleted checks are ignored.
``opts`` are passed to :func:`auditor.readiness.evaluate_service`: ``min_score`` (default 0),
``required_level`` (default ``"bronze"``), ``max_age_s`` (data older than this is stale).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from auditor.models import Attestation, Check, CheckState, Service, Waiver
from auditor.readiness import (
    AttestationInput,
    CheckInput,
    ServiceInput,
    ServiceReadiness,
    WaiverInput,
    evaluate_service,
)
from auditor.store import Store


def _max_age(options: Mapping[str, Any]) -> float | None:
    raw = options.get("max_age")
    if raw is None:
        return None
    try:
        from checks.units import parse_duration

        return float(parse_duration(raw))
    except (TypeError, ValueError):
        return None


def _service_input(svc: Service) -> ServiceInput:
    return ServiceInput(
        id=svc.id,
        name=svc.name,
        environment=svc.environment,
        profile=svc.profile,
        owner=svc.owner,
        tags=tuple(svc.tags or ()),
    )


def _waiver_input(w: Waiver) -> WaiverInput:
    return WaiverInput(
        id=w.id,
        reason=w.reason,
        created_by=w.created_by,
        expires_at=w.expires_at,
        created_at=w.created_at,
    )


def _attestation_input(a: Attestation) -> AttestationInput:
    return AttestationInput(
        id=a.id,
        item=a.item,
        signed_by=a.signed_by,
        signed_at=a.signed_at,
        expires_at=a.expires_at,
        evidence_url=a.evidence_url,
        comment=a.comment,
    )


def _check_input(
    chk: Check,
    st: CheckState | None,
    waiver: Waiver | None,
    attestations: Mapping[tuple[str, str], Attestation],
) -> CheckInput:
    item = chk.options.get("item") if chk.kind == "attestation" else None
    att = attestations.get((chk.service_id, str(item))) if item else None
    return CheckInput(
        check_id=chk.id,
        name=chk.name,
        kind=chk.kind,
        severity=chk.severity,
        level=chk.level,
        blocking=chk.blocking,
        interval_s=chk.interval_s,
        description=chk.description,
        state=st.state if st else "unknown",
        raw_status=st.raw_status if st else None,
        since=st.since if st else None,
        last_run_at=st.last_run_at if st else None,
        summary=st.last_summary if st else "",
        findings=tuple(st.last_findings or ()) if st else (),
        consecutive_fail=st.consecutive_fail if st else 0,
        consecutive_pass=st.consecutive_pass if st else 0,
        consecutive_error=st.consecutive_error if st else 0,
        waiver=_waiver_input(waiver) if waiver else None,
        attestation_item=str(item) if item else None,
        attestation_max_age_s=_max_age(chk.options) if item else None,
        attestation=_attestation_input(att) if att else None,
    )


def _pick_waivers(rows: list[Waiver], now: datetime) -> dict[str, Waiver]:
    """Per check: an active waiver if any (latest expiry), else the most recently expired."""
    best: dict[str, Waiver] = {}
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


def _load(
    s: Session, service_ids: list[str] | None, now: datetime
) -> tuple[list[Service], dict[str, list[CheckInput]]]:
    """The given services (any enabled state), or with ``None`` every enabled one."""
    svc_stmt = select(Service).where(col(Service.deleted_at).is_(None))
    if service_ids is not None:
        svc_stmt = svc_stmt.where(col(Service.id).in_(service_ids))
    else:
        svc_stmt = svc_stmt.where(col(Service.enabled).is_(True))
    services = list(s.exec(svc_stmt.order_by(col(Service.name))).all())
    ids = [svc.id for svc in services]
    if not ids:
        return [], {}
    rows = s.exec(
        select(Check, CheckState)
        .join(CheckState, col(CheckState.check_id) == col(Check.id), isouter=True)
        .where(
            col(Check.service_id).in_(ids),
            col(Check.enabled).is_(True),
            col(Check.deleted_at).is_(None),
        )
    ).all()
    check_ids = [chk.id for chk, _ in rows]
    waivers = _pick_waivers(
        list(
            s.exec(
                select(Waiver).where(
                    col(Waiver.check_id).in_(check_ids), col(Waiver.deleted_at).is_(None)
                )
            ).all()
        )
        if check_ids
        else [],
        now,
    )
    attestations: dict[tuple[str, str], Attestation] = {}
    for a in s.exec(
        select(Attestation)
        .where(
            col(Attestation.service_id).in_(ids),
            col(Attestation.deleted_at).is_(None),
            col(Attestation.signed_at) <= now,
        )
        .order_by(col(Attestation.signed_at))
    ).all():
        attestations[(a.service_id, a.item)] = a  # newest signature wins
    by_service: dict[str, list[CheckInput]] = {}
    for chk, st in rows:
        by_service.setdefault(chk.service_id, []).append(
            _check_input(chk, st, waivers.get(chk.id), attestations)
        )
    return services, by_service


def load_service_readiness(
    store: Store, service_id: str, now: datetime, **opts: Any
) -> ServiceReadiness:
    """Readiness of one service (by id, or by name); ``LookupError`` when it does not exist.

    A disabled service still answers (its last known states), for the API, page and gate."""
    with store.read() as s:
        svc = s.get(Service, service_id)
        if svc is None or svc.deleted_at is not None:
            svc = s.exec(
                select(Service).where(Service.name == service_id, col(Service.deleted_at).is_(None))
            ).first()
        if svc is None:
            raise LookupError(f"unknown service {service_id!r}")
        services, checks = _load(s, [svc.id], now)
    return evaluate_service(_service_input(services[0]), checks.get(svc.id, []), now, **opts)


def load_all_readiness(store: Store, now: datetime, **opts: Any) -> dict[str, ServiceReadiness]:
    """Readiness of every enabled, non-deleted service, keyed by service id (by name)."""
    with store.read() as s:
        services, checks = _load(s, None, now)
    return {
        svc.id: evaluate_service(_service_input(svc), checks.get(svc.id, []), now, **opts)
        for svc in services
    }
