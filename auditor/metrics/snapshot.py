"""What one scrape reads from the store: checks with their latest state, counters, outbox sizes.

A handful of queries, none proportional to history. Counters that must survive restarts and
agree across nodes (``auditor_runs_total``, ``auditor_alert_deliveries_total``) are rows of
``metric_counter``, maintained by database triggers (migration ``m001_metric_counters``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from auditor.readiness.queries import CheckFacts
from auditor.store.db import Database
from auditor.store.models import AlertDelivery, Check, CheckState, Service, Transition

#: the counters table written by the triggers of migration ``m001_metric_counters``
METRIC_COUNTER = sa.Table(
    "metric_counter",
    sa.MetaData(),
    sa.Column("family", sa.String(32), primary_key=True),
    sa.Column("a", sa.String(63), primary_key=True),
    sa.Column("b", sa.String(32), primary_key=True),
    sa.Column("total", sa.BigInteger, nullable=False),
)


#: one enabled check with its latest state, as the collector needs it
CheckRow = CheckFacts


@dataclass
class Snapshot:
    """Everything one scrape reads from the store."""

    checks: list[CheckRow] = field(default_factory=list)
    counters: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    transitions_pending: int = 0
    deliveries_pending: int = 0


def read_snapshot(store: Database, checks: list[CheckRow] | None = None) -> Snapshot:
    """A handful of queries, none proportional to history: checks (unless given: read with
    the fleet's readiness, see :class:`StoreCollector`), counters, outbox sizes."""
    snap = Snapshot()
    # ``metrics`` feeds only the tls and headers families: skip decoding it for the rest
    facts = sa.case((col(Check.kind).in_(("tls", "headers")), col(CheckState.metrics)))
    stmt = (
        sa.select(
            col(Service.id),
            col(Service.name),
            col(Check.name),
            col(Check.kind),
            col(Check.interval_s),
            col(CheckState.state),
            col(CheckState.last_run_at),
            col(CheckState.last_duration_ms),
            facts,
        )
        .select_from(Check)
        .join(Service, col(Service.id) == col(Check.service_id))
        .join(CheckState, col(CheckState.check_id) == col(Check.id), isouter=True)
        .where(
            col(Check.enabled).is_(True),
            col(Check.deleted_at).is_(None),
            col(Service.enabled).is_(True),
            col(Service.deleted_at).is_(None),
        )
        .order_by(col(Check.service_id), col(Check.id))  # as load_fleet: same order either way
    )
    empty: Mapping[str, Any] = {}
    with store.read() as s:
        snap.checks = checks if checks is not None else [
            CheckRow(sid, svc, name, kind, float(interval), state, last, took,
                     found if isinstance(found, Mapping) else empty)
            for sid, svc, name, kind, interval, state, last, took, found in s.execute(stmt)
        ]  # fmt: skip
        for family, a, b, total in s.execute(
            sa.select(
                METRIC_COUNTER.c.family,
                METRIC_COUNTER.c.a,
                METRIC_COUNTER.c.b,
                METRIC_COUNTER.c.total,
            )
        ):
            snap.counters.setdefault(family, {})[(a, b)] = int(total)
        snap.transitions_pending = int(
            s.execute(
                sa.select(sa.func.count())
                .select_from(Transition)
                .where(col(Transition.processed_at).is_(None))
            ).scalar_one()
        )
        snap.deliveries_pending = int(
            s.execute(
                sa.select(sa.func.count())
                .select_from(AlertDelivery)
                .where(col(AlertDelivery.status) == "pending")
            ).scalar_one()
        )
    return snap
