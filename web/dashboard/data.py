"""Read models for the dashboard: latest state, readiness, roll-ups; never a history scan.

The overview reads ``service`` + readiness (``check_def``, ``check_state``, ``waiver``,
``attestation``) only. The service page adds bounded, indexed reads for one service:
``run_rollup`` for 7 d / 30 d / 90 d, and at most :data:`RAW_LIMIT` recent ``run`` rows
(index ``ix_run_check_started``) for the 24 h timeline and the latency sparkline, also used
as the fallback while no roll-ups exist.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from auditor.readiness.cache import load_all_readiness_cached
from auditor.readiness.model import ServiceReadiness
from auditor.readiness.queries import service_readiness_in
from auditor.store.db import Database
from auditor.store.models import (
    AlertDelivery,
    AlertState,
    Check,
    CheckState,
    Rollup,
    Run,
    Service,
    Transition,
)
from web import charts

KIND_ORDER = (
    "tls",
    "headers",
    "redirect",
    "health",
    "exposure",
    "migrations",
    "backups",
    "env",
    "attestation",
)
STATE_RANK = {"fail": 0, "error": 1, "unknown": 2, "warn": 3, "pass": 4}
VERDICT_RANK = {"not_ready": 0, "unknown": 1, "ready_with_warnings": 2, "ready": 3}
VERDICT_LABEL = {
    "ready": "Ready",
    "ready_with_warnings": "Warnings",
    "not_ready": "Not ready",
    "unknown": "Unknown",
}
STATE_ICONS = {"pass": "✓", "warn": "!", "fail": "✗", "error": "⚠", "unknown": "?"}
SORTS = ("worst", "name", "score", "environment", "owner")
PAGE_SIZE = 250
RAW_LIMIT = 3000

RANGES: dict[str, tuple[timedelta, int, str | None]] = {
    # window, buckets, roll-up period
    "24h": (timedelta(hours=24), 48, None),
    "7d": (timedelta(days=7), 84, "hour"),
    "30d": (timedelta(days=30), 30, "day"),
    "90d": (timedelta(days=90), 90, "day"),
}


@dataclass
class Cell:
    kind: str
    state: str = "unknown"
    names: list[str] = field(default_factory=list)
    overlay: str | None = None
    not_configured: bool = False

    @property
    def icon(self) -> str:
        return STATE_ICONS.get(self.state, "?")

    def add(self, name: str, state: str, overlay: str | None, not_configured: bool) -> None:
        if not self.names or STATE_RANK.get(state, 2) < STATE_RANK.get(self.state, 2):
            self.state = state
            self.overlay = overlay
        self.names.append(name)
        self.not_configured = self.not_configured or not_configured


@dataclass
class Row:
    service: Service
    readiness: ServiceReadiness
    cells: dict[str, Cell]
    worst: str

    @property
    def sort_key(self) -> tuple[Any, ...]:
        r = self.readiness
        return (VERDICT_RANK.get(r.verdict, 1), r.score, STATE_RANK.get(self.worst, 2), r.service)


@dataclass
class Filters:
    q: str = ""
    environment: str = ""
    owner: str = ""
    tag: str = ""
    state: str = ""
    verdict: str = ""
    sort: str = "worst"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        sort = args.get("sort", "worst")
        try:
            page = max(1, int(args.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            q=args.get("q", "").strip()[:200],
            environment=args.get("environment", "")[:63],
            owner=args.get("owner", "")[:255],
            tag=args.get("tag", "")[:63],
            state=args.get("state", "") if args.get("state") in (*STATE_RANK, "waived") else "",
            verdict=args.get("verdict", "") if args.get("verdict") in VERDICT_RANK else "",
            sort=sort if sort in SORTS else "worst",
            page=page,
        )

    def active(self) -> bool:
        return any((self.q, self.environment, self.owner, self.tag, self.state, self.verdict))


def build_rows(store: Database, now: datetime) -> list[Row]:
    readiness = load_all_readiness_cached(store, now)
    with store.read() as s:
        services = {
            svc.id: svc
            for svc in s.exec(select(Service).where(col(Service.deleted_at).is_(None))).all()
        }
    rows = []
    for sid, r in readiness.items():
        svc = services.get(sid)
        if svc is None:
            continue
        cells: dict[str, Cell] = {}
        worst = "pass" if r.checks else "unknown"
        for c in r.checks:
            shown = c.state
            cells.setdefault(c.kind, Cell(c.kind)).add(c.name, shown, c.overlay, c.not_configured)
            if c.overlay != "waived" and STATE_RANK.get(shown, 2) < STATE_RANK.get(worst, 2):
                worst = shown
        rows.append(Row(svc, r, cells, worst))
    return rows


def _matches(row: Row, f: Filters) -> bool:
    svc = row.service
    if f.environment and svc.environment != f.environment:
        return False
    if f.owner and svc.owner != f.owner:
        return False
    if f.tag and f.tag not in (svc.tags or []):
        return False
    if f.verdict and row.readiness.verdict != f.verdict:
        return False
    if f.state == "waived":
        if not any(c.overlay == "waived" for c in row.readiness.checks):
            return False
    elif f.state and not any(c.state == f.state for c in row.readiness.checks):
        return False
    if f.q:
        hay = " ".join(
            [svc.name, svc.url, svc.owner, svc.environment, svc.description, *(svc.tags or [])]
        ).lower()
        if not all(word in hay for word in f.q.lower().split()):
            return False
    return True


def filter_sort(rows: Iterable[Row], f: Filters) -> list[Row]:
    out = [r for r in rows if _matches(r, f)]
    if f.sort == "name":
        out.sort(key=lambda r: r.service.name)
    elif f.sort == "score":
        out.sort(key=lambda r: (r.readiness.score, r.service.name))
    elif f.sort == "environment":
        out.sort(key=lambda r: (r.service.environment, r.sort_key))
    elif f.sort == "owner":
        out.sort(key=lambda r: (r.service.owner, r.sort_key))
    else:
        out.sort(key=lambda r: r.sort_key)
    return out


def counts(rows: Iterable[Row]) -> dict[str, int]:
    out = dict.fromkeys(VERDICT_RANK, 0)
    for r in rows:
        out[r.readiness.verdict] = out.get(r.readiness.verdict, 0) + 1
    return out


def facets(rows: Sequence[Row]) -> dict[str, list[str]]:
    envs, owners, tags = set(), set(), set()
    for r in rows:
        envs.add(r.service.environment)
        if r.service.owner:
            owners.add(r.service.owner)
        tags.update(r.service.tags or [])
    return {"environment": sorted(envs), "owner": sorted(owners), "tag": sorted(tags)}


def kinds_in(rows: Iterable[Row]) -> list[str]:
    seen: set[str] = set()
    for r in rows:
        seen.update(r.cells)
    return [k for k in KIND_ORDER if k in seen] + sorted(seen - set(KIND_ORDER))


# -- one service ------------------------------------------------------------------------


@dataclass
class ServicePage:
    service: Service
    readiness: ServiceReadiness
    checks: dict[str, Check]
    states: dict[str, CheckState]
    transitions: list[Transition]
    deliveries: dict[str, list[AlertDelivery]]
    names: dict[str, str]
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)


@contextmanager
def _reading(store: Database, session: Session | None) -> Iterator[Session]:
    """The caller's read session, else a new one (the service page shares one)."""
    if session is not None:
        yield session
    else:
        with store.read() as s:
            yield s


@functools.cache
def _page_stmts() -> dict[str, Any]:
    """The service page's reads, built once: building and keying a statement costs more
    than running it for one service (parameters ``name``, ``sid``, ``ids``)."""
    ids: Any = sa.bindparam("ids", expanding=True)
    return {
        "service": select(Service).where(
            Service.name == sa.bindparam("name"), col(Service.deleted_at).is_(None)
        ),
        "checks": select(Check).where(
            Check.service_id == sa.bindparam("sid"), col(Check.deleted_at).is_(None)
        ),
        "states": select(CheckState).where(CheckState.service_id == sa.bindparam("sid")),
        "transitions": select(Transition)
        .where(Transition.service_id == sa.bindparam("sid"))
        .order_by(col(Transition.at).desc())
        .limit(20),
        "deliveries": select(AlertDelivery)
        .where(col(AlertDelivery.transition_id).in_(ids))
        .order_by(col(AlertDelivery.created_at).desc())
        .limit(100),
        "acks": select(AlertState).where(col(AlertState.check_id).in_(ids)),
    }


def find_service(store: Database, name: str, *, session: Session | None = None) -> Service | None:
    with _reading(store, session) as s:
        return s.exec(_page_stmts()["service"], params={"name": name}).first()


def service_page(
    store: Database, svc: Service, now: datetime, *, session: Session | None = None
) -> ServicePage:
    q = _page_stmts()
    with _reading(store, session) as s:
        readiness = service_readiness_in(s, svc.id, now)
        one = {"sid": svc.id}
        checks = {c.id: c for c in s.exec(q["checks"], params=one).all()}
        states = {st.check_id: st for st in s.exec(q["states"], params=one).all()}
        transitions = list(s.exec(q["transitions"], params=one).all())
        deliveries: dict[str, list[AlertDelivery]] = {}
        if transitions:
            for d in s.exec(q["deliveries"], params={"ids": [t.id for t in transitions]}).all():
                deliveries.setdefault(d.transition_id, []).append(d)
        acks: dict[str, dict[str, Any]] = {}
        if checks:
            for a in s.exec(q["acks"], params={"ids": list(checks)}).all():
                ack = (a.notes or {}).get("ack")
                if isinstance(ack, dict):
                    acks[a.check_id] = ack
    names = {c.id: c.name for c in checks.values()}
    return ServicePage(svc, readiness, checks, states, transitions, deliveries, names, acks)


@dataclass
class History:
    range: str
    buckets: dict[str, list[charts.Bucket]]
    latency: dict[str, list[float | None]]
    source: str  # "rollup" | "runs"
    truncated: bool = False


def history(
    store: Database,
    check_ids: Sequence[str],
    rng: str,
    now: datetime,
    *,
    session: Session | None = None,
) -> History:
    """Per-check buckets for ``rng`` (24h / 7d / 30d / 90d); roll-ups first, else bounded raw runs."""
    window, n, period = RANGES.get(rng, RANGES["24h"])
    end = now
    start = end - window
    buckets = {cid: charts.empty_buckets(start, end, n) for cid in check_ids}
    source = "runs"
    truncated = False
    if not check_ids:
        return History(rng, buckets, {}, source)
    q = _history_stmts()
    with _reading(store, session) as s:
        if period is not None:
            rollups = s.exec(
                q["rollups"], params={"ids": list(check_ids), "period": period, "start": start}
            ).all()
            for r in rollups:
                charts.add_rollup(
                    buckets[r.check_id],
                    _aware(r.bucket_start),
                    {
                        "pass": r.count_pass,
                        "warn": r.count_warn,
                        "fail": r.count_fail,
                        "error": r.count_error,
                    },
                    r.duration_ms_sum,
                    r.duration_ms_max,
                )
            if rollups:
                source = "rollup"
        if source == "runs":
            runs = s.exec(q["runs"], params={"ids": list(check_ids), "start": start}).all()
            truncated = len(runs) >= RAW_LIMIT
            for cid, status, started, dur in runs:
                charts.add_run(buckets[cid], _aware(started), status, dur or 0.0)
    latency = {cid: [b.mean_ms for b in bs] for cid, bs in buckets.items()}
    return History(rng, buckets, latency, source, truncated)


@functools.cache
def _history_stmts() -> dict[str, Any]:
    """:func:`history`'s two reads, built once (parameters ``ids``, ``start``, ``period``)."""
    ids: Any = sa.bindparam("ids", expanding=True)
    return {
        "rollups": select(Rollup).where(
            col(Rollup.check_id).in_(ids),
            Rollup.period == sa.bindparam("period"),
            col(Rollup.bucket_start) >= sa.bindparam("start"),
        ),
        "runs": select(Run.check_id, Run.status, Run.started_at, Run.duration_ms)
        .where(col(Run.check_id).in_(ids), col(Run.started_at) >= sa.bindparam("start"))
        .order_by(col(Run.started_at).desc())
        .limit(RAW_LIMIT),
    }


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def get_run(store: Database, run_id: str) -> tuple[Run, Check | None, Service | None] | None:
    with store.read() as s:
        run = s.get(Run, run_id)
        if run is None:
            return None
        return run, s.get(Check, run.check_id), s.get(Service, run.service_id)


def last_facts(store: Database, run_id: str | None) -> dict[str, Any]:
    if not run_id:
        return {}
    with store.read() as s:
        facts = s.exec(select(Run.facts).where(Run.id == run_id)).first()
    return dict(facts) if isinstance(facts, Mapping) else {}


def parse_when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def backup_age(facts: Mapping[str, Any], now: datetime) -> timedelta | None:
    """Age of the newest good backup from a backups run's facts (any of the three modes)."""
    candidates: list[Any] = []
    newest = facts.get("newest")
    if isinstance(newest, Mapping):
        candidates.append(newest.get("at"))
    hb = facts.get("heartbeat")
    if isinstance(hb, Mapping):
        candidates.append(hb.get("last_success_at"))
    inv = facts.get("inventory")
    if isinstance(inv, Mapping):
        inv_newest = inv.get("newest")
        candidates.append(inv_newest.get("at") if isinstance(inv_newest, Mapping) else inv_newest)
    for c in candidates:
        at = parse_when(c)
        if at is not None:
            return now - at
    return None


def human_delta(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    s = abs(delta.total_seconds())
    if s < 90:
        out = f"{s:.0f} s"
    elif s < 5400:
        out = f"{s / 60:.0f} min"
    elif s < 2 * 86400:
        out = f"{s / 3600:.0f} h"
    else:
        out = f"{s / 86400:.0f} days"
    return out
