"""The store: every write and read of the daemon's state goes through here.

Writes are short transactions (``BEGIN IMMEDIATE`` on SQLite). Workers claim due checks
with ``SELECT … FOR UPDATE SKIP LOCKED`` plus a lease (the same code on SQLite, where the
immediate transaction gives the exclusivity); a run is stored together with the check's new
latest state, its transition (the alert outbox) and its next due time, in one transaction.
``run(check_id, due_at)`` is unique, so no check is stored twice for one due time.

Workers claim a little ahead (``horizon_s``) and start each check at its due time: a check
due within the horizon, or whose lease (a dead worker's) lapses within it, can be claimed
now; the claim says when it may start (``start_at``) and its lease covers that wait.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from auditor.config import CheckConfig, Config, ServiceConfig
from auditor.probe.outcome import RunResult, Target
from auditor.schedule.state import StateSnapshot, Thresholds, next_state
from auditor.schedule.triggers import next_fire
from auditor.store.db import Database
from auditor.store.models import (
    Attestation,
    Check,
    CheckState,
    HeartbeatPing,
    Node,
    Run,
    Service,
    Transition,
    new_id,
    utcnow,
)
from checks.base import History


@dataclass(frozen=True)
class Claim:
    """A due check leased to one worker: everything needed to run it without another query."""

    check_id: str
    service_id: str
    due_at: datetime
    kind: str
    name: str
    options: dict[str, Any]
    timeout_s: float
    interval_s: float
    schedule: str | None
    jitter_s: float
    target: Target
    lease_until: datetime
    secret_error: str | None = None
    #: not before this instant: the previous holder's lease ends then (None: at ``due_at``)
    not_before: datetime | None = None

    @property
    def start_at(self) -> datetime:
        """When the run may start: its due time, or when the previous lease lapses."""
        if self.not_before is not None and self.not_before > self.due_at:
            return self.not_before
        return self.due_at


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _check_hash(check: CheckConfig) -> str:
    common = check.common.model_dump(mode="json")
    return _hash({"common": common, "options": check.raw_options})


def apply_check_config(
    chk: Check,
    cfg: CheckConfig,
    *,
    enabled: bool,
    now: datetime,
    source: str = "config",
    options: dict[str, Any] | None = None,
) -> bool:
    """Copy a validated check definition onto its row (config sync, API and dashboard alike).

    ``options`` overrides the stored options (the API keeps secrets apart, encrypted).
    Returns True when the cadence or enabling changed, i.e. the check should be due now.
    """
    before = (chk.interval_s, chk.schedule, chk.enabled)
    common = cfg.common
    chk.name = cfg.name
    chk.kind = cfg.kind
    chk.options = dict(cfg.raw_options) if options is None else options
    chk.interval_s = cfg.interval
    chk.schedule = cfg.schedule
    chk.jitter_s = common.jitter
    chk.timeout_s = cfg.timeout
    chk.severity = common.severity
    chk.level = common.level
    chk.failure_threshold = common.failure_threshold
    chk.success_threshold = common.success_threshold
    chk.consecutive_error_limit = common.consecutive_error_limit
    chk.blocking = common.blocking
    chk.description = common.description
    chk.enabled = enabled
    chk.source = source
    chk.config_hash = _check_hash(cfg)
    chk.deleted_at = None
    chk.updated_at = now
    if cfg.kind == "backups" and chk.heartbeat_token is None:
        chk.heartbeat_token = secrets.token_urlsafe(24)
    return before != (chk.interval_s, chk.schedule, chk.enabled)


class Store(Database):
    """The repositories not yet split out of the old facade (being taken apart, issue #16)."""

    # -- configuration sync ---------------------------------------------------------------

    def sync_config(
        self, config: Config, now: datetime | None = None, *, disable_missing: bool = True
    ) -> dict[str, int]:
        """Make the store match the file: add, update, and disable (never delete) what is gone.

        ``disable_missing=False`` only adds and updates: one-shot commands (``audit``,
        ``gate --fresh``) may run with a cut-down file and must not disable the rest.
        """
        now = now or utcnow()
        counts = {
            "services_added": 0,
            "services_updated": 0,
            "services_disabled": 0,
            "checks_added": 0,
            "checks_updated": 0,
            "checks_disabled": 0,
        }
        with self.write() as s:
            existing = {svc.name: svc for svc in s.exec(select(Service)).all()}
            wanted = {svc.name for svc in config.services}
            for svc_cfg in config.services:
                svc = existing.get(svc_cfg.name)
                if svc is None:
                    svc = Service(name=svc_cfg.name, url=svc_cfg.url, source="config")
                    self._apply_service(svc, svc_cfg, now)
                    s.add(svc)
                    s.flush()
                    counts["services_added"] += 1
                else:
                    if svc.source != "config" and svc.deleted_at is None:
                        # a service created through the API keeps its own definition
                        continue
                    if self._apply_service(svc, svc_cfg, now):
                        counts["services_updated"] += 1
                    s.add(svc)
                self._sync_checks(s, svc, svc_cfg, now, counts, disable_missing)
            for name, svc in existing.items():
                if not disable_missing:
                    break
                if name not in wanted and svc.source == "config" and svc.enabled:
                    svc.enabled = False
                    svc.updated_at = now
                    s.add(svc)
                    counts["services_disabled"] += 1
                    for chk in s.exec(select(Check).where(Check.service_id == svc.id)).all():
                        if chk.enabled:
                            chk.enabled = False
                            chk.updated_at = now
                            s.add(chk)
                            counts["checks_disabled"] += 1
        return counts

    @staticmethod
    def _apply_service(svc: Service, cfg: ServiceConfig, now: datetime) -> bool:
        values = {
            "url": cfg.url,
            "environment": cfg.environment,
            "owner": cfg.owner,
            "tags": list(cfg.tags),
            "profile": cfg.profile,
            "public": cfg.public,
            "description": cfg.description,
            "enabled": cfg.enabled,
            "deleted_at": None,
            "source": "config",
        }
        changed = False
        for key, value in values.items():
            if getattr(svc, key) != value:
                setattr(svc, key, value)
                changed = True
        if changed:
            svc.updated_at = now
        return changed

    def _sync_checks(
        self,
        s: Session,
        svc: Service,
        cfg: ServiceConfig,
        now: datetime,
        counts: dict[str, int],
        disable_missing: bool = True,
    ) -> None:
        existing = {
            c.name: c for c in s.exec(select(Check).where(Check.service_id == svc.id)).all()
        }
        wanted = {c.name for c in cfg.checks}
        for chk_cfg in cfg.checks:
            digest = _check_hash(chk_cfg)
            chk = existing.get(chk_cfg.name)
            enabled = chk_cfg.common.enabled and cfg.enabled
            if chk is None:
                chk = Check(
                    service_id=svc.id, name=chk_cfg.name, kind=chk_cfg.kind, source="config"
                )
                apply_check_config(chk, chk_cfg, enabled=enabled, now=now)
                chk.next_run_at = now
                s.add(chk)
                s.flush()
                s.add(CheckState(check_id=chk.id, service_id=svc.id, updated_at=now))
                counts["checks_added"] += 1
                continue
            if chk.config_hash != digest or chk.enabled != enabled or chk.deleted_at is not None:
                if apply_check_config(chk, chk_cfg, enabled=enabled, now=now):
                    chk.next_run_at = now
                s.add(chk)
                counts["checks_updated"] += 1
        for name, chk in existing.items():
            if not disable_missing:
                break
            if name not in wanted and chk.source == "config" and chk.enabled:
                chk.enabled = False
                chk.updated_at = now
                s.add(chk)
                counts["checks_disabled"] += 1

    # -- scheduling -----------------------------------------------------------------------

    def claim_due(
        self, worker: str, now: datetime, limit: int, lease_s: float, *, horizon_s: float = 0.0
    ) -> list[Claim]:
        """Lease up to ``limit`` checks due by ``now + horizon_s`` to ``worker``.

        A check whose lease (held by a worker that died or stalled) lapses by then is
        claimable too; its claim's ``not_before`` is that instant, so the run never overlaps
        the previous lease. Every lease lasts from ``now`` past the planned start by at least
        the check's timeout + 10 s, and at least ``lease_s``.
        """
        if limit <= 0:
            return []
        due_by = now + timedelta(seconds=max(horizon_s, 0.0))
        with self.write(background=True) as s:
            stmt = (
                select(Check.id)
                .join(Service, col(Service.id) == col(Check.service_id))
                .where(
                    col(Check.enabled).is_(True),
                    col(Check.deleted_at).is_(None),
                    col(Service.enabled).is_(True),
                    col(Service.deleted_at).is_(None),
                    col(Check.next_run_at) <= due_by,
                    sa.or_(col(Check.lease_until).is_(None), col(Check.lease_until) < due_by),
                )
                .order_by(col(Check.next_run_at))
                .limit(limit)
                .with_for_update(skip_locked=True, of=Check)  # type: ignore[arg-type]
            )
            ids = list(s.exec(stmt).all())
            if not ids:
                return []
            rows = s.exec(
                select(Check, Service)
                .join(Service, col(Service.id) == col(Check.service_id))
                .where(col(Check.id).in_(ids))
            ).all()
            claims = []
            for chk, svc in rows:
                assert chk.next_run_at is not None
                prev = chk.lease_until
                not_before = prev if prev is not None and prev > now else None
                start = max(now, chk.next_run_at, not_before or now)
                ahead = (start - now).total_seconds()
                lease_until = now + timedelta(seconds=max(lease_s, ahead + chk.timeout_s + 10.0))
                chk.lease_owner = worker
                chk.lease_until = lease_until
                s.add(chk)
                claim = self._claim(chk, svc, chk.next_run_at, lease_until)
                if not_before is not None:
                    claim = replace(claim, not_before=not_before)
                claims.append(claim)
            claims.sort(key=lambda c: c.start_at)
            return claims

    @staticmethod
    def _claim(chk: Check, svc: Service, due_at: datetime, lease_until: datetime) -> Claim:
        options, secret_error = dict(chk.options), None
        if chk.secret_options:
            from auditor.store.secrets import reveal_options

            try:
                options = reveal_options(chk.options, chk.secret_options)
            except Exception as exc:  # a missing or rotated-away key must not stop other checks
                secret_error = f"cannot decrypt this check's secret options ({type(exc).__name__}); is AUDITOR_SECRET_KEY set to the key they were stored with?"
        return Claim(
            secret_error=secret_error,
            check_id=chk.id,
            service_id=svc.id,
            due_at=due_at,
            kind=chk.kind,
            name=chk.name,
            options=options,
            timeout_s=chk.timeout_s,
            interval_s=chk.interval_s,
            schedule=chk.schedule,
            jitter_s=chk.jitter_s,
            target=Target(
                service=svc.name,
                url=svc.url,
                check=chk.name,
                kind=chk.kind,
                environment=svc.environment,
                tags=tuple(svc.tags),
                owner=svc.owner,
                public=svc.public,
                service_id=svc.id,
                check_id=chk.id,
            ),
            lease_until=lease_until,
        )

    def claims_for(
        self,
        *,
        services: Sequence[str] = (),
        kinds: Sequence[str] = (),
        check_ids: Sequence[str] = (),
        now: datetime | None = None,
    ) -> list[Claim]:
        """Enabled checks selected by service name / kind, as claims due now (for ``audit``)."""
        now = now or utcnow()
        with self.read() as s:
            stmt = (
                select(Check, Service)
                .join(Service, col(Service.id) == col(Check.service_id))
                .where(
                    col(Check.enabled).is_(True),
                    col(Check.deleted_at).is_(None),
                    col(Service.deleted_at).is_(None),
                    col(Service.enabled).is_(True),
                )
                .order_by(col(Service.name), col(Check.name))
            )
            if services:
                stmt = stmt.where(col(Service.name).in_(list(services)))
            if kinds:
                stmt = stmt.where(col(Check.kind).in_(list(kinds)))
            if check_ids:
                stmt = stmt.where(col(Check.id).in_(list(check_ids)))
            return [self._claim(c, svc, now, now) for c, svc in s.exec(stmt).all()]

    def release(self, claims: Sequence[Claim], worker: str) -> None:
        """Give back leases without running (shutdown before start)."""
        if not claims:
            return
        with self.write(background=True) as s:
            s.execute(
                sa.update(Check)
                .where(
                    col(Check.id).in_([c.check_id for c in claims]),
                    col(Check.lease_owner) == worker,
                )
                .values(lease_owner=None, lease_until=None)
            )

    def complete(
        self,
        items: Sequence[tuple[Claim, RunResult]],
        worker: str,
        now: datetime | None = None,
        *,
        reschedule: bool = True,
        background: bool = False,
    ) -> list[str]:
        """Store a batch of finished runs with state, transitions and next due times.

        Returns the ids of runs actually written; a run whose (check, due time) was already
        stored by another worker is skipped (at most one run per due time). One transaction
        with a few set-based statements (Core, not ORM objects): a worker stores every run
        through here, so its cost per run bounds how many checks one process can keep on time.
        """
        now = now or utcnow()
        written: list[str] = []
        if not items:
            return written
        with self.write(background=background) as s:
            conn = s.connection()
            ids = list({c.check_id for c, _ in items})
            checks = {
                row.id: dict(row._mapping)
                for row in conn.execute(sa.select(*_CHECK_COLS).where(_CHECK.c.id.in_(ids)))
            }
            states = {
                row.check_id: dict(row._mapping)
                for row in conn.execute(sa.select(_STATE).where(_STATE.c.check_id.in_(ids)))
            }
            run_ids = self._insert_runs(s, items, worker)
            moved: dict[str, dict[str, Any]] = {}
            touched: dict[str, dict[str, Any]] = {}
            added: set[str] = set()
            for (claim, result), run_id in zip(items, run_ids, strict=True):
                chk = checks.get(claim.check_id)
                if reschedule and chk is not None:
                    # only the lease holder (or a late writer whose run still counted) moves the
                    # schedule, and only from the due time it ran: a result that lost its lease
                    # to another worker must not skip that worker's slot
                    ours = chk["lease_owner"] == worker or (
                        chk["lease_owner"] is None and run_id is not None
                    )
                    if ours:
                        if chk["next_run_at"] == claim.due_at:
                            chk["next_run_at"] = next_fire(
                                chk["id"],
                                chk["interval_s"],
                                chk["schedule"],
                                max(now, claim.due_at),
                                chk["jitter_s"],
                            )
                        chk["lease_owner"] = None
                        moved[chk["id"]] = chk
                if run_id is None:
                    continue
                written.append(run_id)
                state = states.get(claim.check_id)
                if state is None:
                    state = CheckState(
                        check_id=claim.check_id, service_id=claim.service_id
                    ).model_dump()
                    states[claim.check_id] = state
                    added.add(claim.check_id)
                thresholds = Thresholds(
                    chk["failure_threshold"] if chk else 2,
                    chk["success_threshold"] if chk else 1,
                    chk["consecutive_error_limit"] if chk else 4,
                )
                transition = _apply_state(state, claim, result, run_id, thresholds, now)
                if transition is not None:
                    s.add(transition)
                touched[claim.check_id] = state
            if moved:
                conn.execute(
                    sa.update(_CHECK)
                    .where(_CHECK.c.id == sa.bindparam("b_id"))
                    .values(next_run_at=sa.bindparam("b_next"), lease_owner=None, lease_until=None),
                    [{"b_id": c["id"], "b_next": c["next_run_at"]} for c in moved.values()],
                )
            if added:
                conn.execute(_STATE.insert(), [states[i] for i in added])
            updates = [st for cid, st in touched.items() if cid not in added]
            if updates:
                conn.execute(
                    sa.update(_STATE)
                    .where(_STATE.c.check_id == sa.bindparam("b_check_id"))
                    .values({c: sa.bindparam(f"b_{c}") for c in _STATE_WRITTEN}),
                    [{f"b_{k}": st[k] for k in ("check_id", *_STATE_WRITTEN)} for st in updates],
                )
        return written

    def _insert_runs(
        self, s: Session, items: Sequence[tuple[Claim, RunResult]], worker: str
    ) -> list[str | None]:
        """Insert the runs; each item's run id, or None where its due time was already stored."""
        created = utcnow()
        rows: list[dict[str, Any]] = [
            {
                "id": new_id(),
                "check_id": claim.check_id,
                "service_id": claim.service_id,
                "status": str(result.status),
                "summary": result.summary[:2000],
                "findings": [f.to_dict() for f in result.findings],
                "facts": result.facts,
                "duration_ms": result.duration_ms,
                "started_at": result.started_at,
                "due_at": claim.due_at,
                "error": result.error,
                "error_kind": result.error_kind,
                "worker": worker,
                "created_at": created,
            }
            for claim, result in items
        ]
        conn = s.connection()
        if self.dialect in ("postgresql", "sqlite"):
            stmt = (
                self.insert(_RUN)
                .on_conflict_do_nothing(index_elements=["check_id", "due_at"])
                .returning(_RUN.c.id)
            )
            inserted = {row[0] for row in conn.execute(stmt, rows)}
            return [r["id"] if r["id"] in inserted else None for r in rows]
        out: list[str | None] = []
        for row in rows:
            try:
                with s.begin_nested():
                    conn.execute(_RUN.insert(), row)
            except sa.exc.IntegrityError:
                out.append(None)
            else:
                out.append(row["id"])
        return out

    # -- nodes ----------------------------------------------------------------------------

    def heartbeat_node(self, node_id: str, role: str, hostname: str, pid: int) -> None:
        now = utcnow()
        with self.write(background=True) as s:
            node = s.get(Node, node_id)
            if node is None:
                node = Node(id=node_id, role=role, hostname=hostname, pid=pid, started_at=now)
            node.last_seen_at = now
            s.add(node)

    def remove_node(self, node_id: str) -> None:
        with self.write() as s:
            node = s.get(Node, node_id)
            if node is not None:
                s.delete(node)

    def live_nodes(self, within_s: float = 30.0) -> list[Node]:
        cutoff = utcnow() - timedelta(seconds=within_s)
        with self.read() as s:
            return list(s.exec(select(Node).where(col(Node.last_seen_at) >= cutoff)).all())

    # -- reads ----------------------------------------------------------------------------

    def overview(self) -> list[tuple[Service, list[tuple[Check, CheckState | None]]]]:
        """Services with their checks and latest states (no history scan)."""
        with self.read() as s:
            services = s.exec(
                select(Service).where(col(Service.deleted_at).is_(None)).order_by(col(Service.name))
            ).all()
            rows = s.exec(
                select(Check, CheckState)
                .join(CheckState, col(CheckState.check_id) == col(Check.id), isouter=True)
                .where(col(Check.deleted_at).is_(None))
                .order_by(col(Check.name))
            ).all()
        by_service: dict[str, list[tuple[Check, CheckState | None]]] = {}
        for chk, st in rows:
            by_service.setdefault(chk.service_id, []).append((chk, st))
        return [(svc, by_service.get(svc.id, [])) for svc in services]

    def runs_for(self, check_id: str, limit: int = 50) -> list[Run]:
        with self.read() as s:
            return list(
                s.exec(
                    select(Run)
                    .where(Run.check_id == check_id)
                    .order_by(col(Run.started_at).desc())
                    .limit(limit)
                ).all()
            )

    def history(self) -> StoreHistory:
        return StoreHistory(self)


_CHECK: sa.Table = Check.__table__  # type: ignore[attr-defined]
_STATE: sa.Table = CheckState.__table__  # type: ignore[attr-defined]
_RUN: sa.Table = Run.__table__  # type: ignore[attr-defined]
#: what ``complete`` reads of each check
_CHECK_COLS = [
    _CHECK.c[name]
    for name in (
        "id",
        "lease_owner",
        "next_run_at",
        "interval_s",
        "schedule",
        "jitter_s",
        "failure_threshold",
        "success_threshold",
        "consecutive_error_limit",
    )
]
#: what ``complete`` writes of each latest-state row
_STATE_WRITTEN = (
    "state",
    "since",
    "consecutive_fail",
    "consecutive_pass",
    "consecutive_error",
    "raw_status",
    "last_run_id",
    "last_run_at",
    "last_duration_ms",
    "last_summary",
    "last_findings",
    "last_error_kind",
    "metrics",
    "runs_total",
    "updated_at",
)


def _apply_state(
    state: dict[str, Any],
    claim: Claim,
    result: RunResult,
    run_id: str,
    th: Thresholds,
    now: datetime,
) -> Transition | None:
    """Fold one stored run into a latest-state row (in place); the transition, if any."""
    prev = StateSnapshot(
        state=state["state"],
        since=state["since"],
        consecutive_fail=state["consecutive_fail"],
        consecutive_pass=state["consecutive_pass"],
        consecutive_warn=int((state["metrics"] or {}).get("_consecutive_warn", 0)),
        consecutive_error=state["consecutive_error"],
    )
    # a stale state (no run for 3 intervals) restarts from unknown so the next measured
    # run sets it; an ``error`` run measured nothing, so it keeps the old state
    if (
        result.status != "error"
        and state["last_run_at"] is not None
        and result.started_at - state["last_run_at"] > timedelta(seconds=3 * claim.interval_s)
    ):
        prev = StateSnapshot(state="unknown", since=prev.since)
    snap = next_state(prev, str(result.status), result.started_at, th)
    findings = [f.to_dict() for f in result.findings]
    transition = None
    if snap.state != state["state"]:
        transition = Transition(
            check_id=claim.check_id,
            service_id=claim.service_id,
            previous_state=state["state"],
            state=snap.state,
            run_id=run_id,
            findings=findings,
            at=result.started_at,
        )
    state.update(
        state=snap.state,
        since=snap.since,
        consecutive_fail=snap.consecutive_fail,
        consecutive_pass=snap.consecutive_pass,
        consecutive_error=snap.consecutive_error,
        raw_status=str(result.status),
        last_run_id=run_id,
        last_run_at=result.started_at,
        last_duration_ms=result.duration_ms,
        last_summary=result.summary[:2000],
        last_findings=findings,
        last_error_kind=result.error_kind,
        metrics={
            **_metric_facts(claim.kind, result.facts),
            "_consecutive_warn": snap.consecutive_warn,
        },
        runs_total=(state["runs_total"] or 0) + 1,
        updated_at=now,
    )
    return transition


def _metric_facts(kind: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The few facts metrics and the overview need, copied into the latest-state row."""
    out: dict[str, Any] = {}
    if kind == "tls":
        for key in ("not_after_ts", "days_left"):
            if key in facts:
                out[key] = facts[key]
    if kind == "headers":
        obs = facts.get("observatory")
        if isinstance(obs, Mapping):
            out["score"] = obs.get("score")
            out["grade"] = obs.get("grade")
    if kind == "health" and "status" in facts:
        out["http_status"] = facts.get("status")
    return out


class StoreHistory(History):
    """The read-only view of the store that checks get through ``ctx.history``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def previous_facts(self, check_id: str, limit: int = 1) -> list[Mapping[str, Any]]:
        with self._store.read() as s:
            rows = s.exec(
                select(Run.facts)
                .where(Run.check_id == check_id, col(Run.status) != "error")
                .order_by(col(Run.started_at).desc())
                .limit(limit)
            ).all()
        return [dict(r) for r in rows]

    def heartbeats(self, check_id: str, limit: int = 50) -> list[Mapping[str, Any]]:
        with self._store.read() as s:
            rows = s.exec(
                select(HeartbeatPing)
                .where(HeartbeatPing.check_id == check_id)
                .order_by(col(HeartbeatPing.at).desc())
                .limit(limit)
            ).all()
        return [{"kind": r.kind, "exit_code": r.exit_code, "at": r.at} for r in rows]

    def attestation(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        with self._store.read() as s:
            row = s.exec(
                select(Attestation)
                .where(
                    Attestation.service_id == service_id,
                    Attestation.item == item,
                    col(Attestation.deleted_at).is_(None),
                )
                .order_by(col(Attestation.signed_at).desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return {
            "item": row.item,
            "signed_by": row.signed_by,
            "evidence_url": row.evidence_url,
            "comment": row.comment,
            "signed_at": row.signed_at,
            "expires_at": row.expires_at,
        }
