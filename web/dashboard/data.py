"""Read models for the dashboard: latest state, readiness, roll-ups; never a history scan.

The overview reads ``service`` + readiness (``check_def``, ``check_state``, ``waiver``,
``attestation``) only. The service page adds bounded, indexed reads for one service:
``run_rollup`` for 7 d / 30 d / 90 d, and at most :data:`RAW_LIMIT` recent ``run`` rows
(index ``ix_run_check_started``) for the 24 h timeline and the latency sparkline, also used
as the fallback while no roll-ups exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.readiness.cache import load_all_readiness_cached
from auditor.readiness.model import ServiceReadiness
from auditor.readiness.views import (
    HistoryRows,
    ServiceReads,
    history_rows,
    read_service_page,
    run_facts,
    run_with_owners,
)
from auditor.store.db import Database
from auditor.store.models import Check, Run, Service
from auditor.store.secret_fields import redact_url
from auditor.store.service_admin import live_services
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
    "evidence",
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
    services = {svc.id: svc for svc in live_services(store)}
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
            [
                svc.name,
                redact_url(svc.url),
                svc.owner,
                svc.environment,
                svc.description,
                *(svc.tags or []),
            ]
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


# the service page's data: one service, its checks, states and recent alert activity
ServicePage = ServiceReads


def load_service_page(
    store: Database, name: str, rng: str, now: datetime
) -> tuple[ServicePage, History] | None:
    """The service page's data and its charts for ``rng``; None when there is no such service."""
    window, _n, period = RANGES.get(rng, RANGES["24h"])
    found = read_service_page(store, name, now, now - window, period)
    if found is None:
        return None
    page, rows = found
    check_ids = [c.check_id for c in page.readiness.checks if c.check_id]
    return page, _chart(check_ids, rng, now, rows)


@dataclass
class History:
    range: str
    buckets: dict[str, list[charts.Bucket]]
    latency: dict[str, list[float | None]]
    source: str  # "rollup" | "runs"
    truncated: bool = False


def history(store: Database, check_ids: Sequence[str], rng: str, now: datetime) -> History:
    """Per-check buckets for ``rng`` (24h / 7d / 30d / 90d); roll-ups first, else bounded raw runs."""
    window, _n, period = RANGES.get(rng, RANGES["24h"])
    return _chart(check_ids, rng, now, history_rows(store, check_ids, now - window, period))


def _chart(check_ids: Sequence[str], rng: str, now: datetime, rows: HistoryRows) -> History:
    window, n, _period = RANGES.get(rng, RANGES["24h"])
    buckets = {cid: charts.empty_buckets(now - window, now, n) for cid in check_ids}
    for r in rows.rollups:
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
    for cid, status, started, dur in rows.runs:
        charts.add_run(buckets[cid], _aware(started), status, dur or 0.0)
    latency = {cid: [b.mean_ms for b in bs] for cid, bs in buckets.items()}
    source = "rollup" if rows.rollups else "runs"
    return History(rng, buckets, latency, source, rows.truncated)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def get_run(store: Database, run_id: str) -> tuple[Run, Check | None, Service | None] | None:
    return run_with_owners(store, run_id)


def last_facts(store: Database, run_id: str | None) -> dict[str, Any]:
    if not run_id:
        return {}
    facts = run_facts(store, run_id)
    return dict(facts) if facts is not None else {}


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
