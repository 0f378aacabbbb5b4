"""The store-derived metric families (DESIGN §7 names) and how a snapshot fills them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from auditor.metrics.exposition import RowsGauge, StateSetGauge
from auditor.metrics.snapshot import CheckRow, Snapshot
from auditor.schedule.state import STATES, effective

CHECK_LABELS = ["service", "check", "kind"]
#: statuses ``auditor_runs_total`` always shows (zero until the first such run)
RUN_STATUSES = ("pass", "warn", "fail", "error")
DELIVERY_RESULTS = ("delivered", "failed", "suppressed")


def _ready_value(verdict: Any) -> float:
    """``ready`` and ``ready_with_warnings`` pass the gate (exit 0); anything else does not."""
    return (
        1.0 if str(getattr(verdict, "value", verdict)) in ("ready", "ready_with_warnings") else 0.0
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def empty_families(*, readiness: bool) -> dict[str, Any]:
    """Empty families (GaugeMetricFamily / CounterMetricFamily), keyed by a short name."""
    f: dict[str, Any] = {
        "status": StateSetGauge(
            "auditor_check_status",
            "Effective check state, state-set style: 1 for the current state, 0 for the others",
            [*CHECK_LABELS, "status"],
            STATES,
        ),
        "success": RowsGauge(
            "auditor_check_success",
            "1 when the check's effective state is pass or warn, 0 for fail or error "
            "(absent while unknown: never run or stale)",
            CHECK_LABELS,
        ),
        "duration": RowsGauge(
            "auditor_check_duration_seconds",
            "Duration of the check's last run",
            CHECK_LABELS,
        ),
        "last_run": RowsGauge(
            "auditor_check_last_run_timestamp_seconds",
            "Start time of the check's last run (Unix time)",
            CHECK_LABELS,
        ),
        "cert": RowsGauge(
            "auditor_tls_cert_expiry_timestamp_seconds",
            "notAfter of the leaf certificate the tls check saw last (Unix time)",
            ["service", "check"],
        ),
        "headers": RowsGauge(
            "auditor_headers_score",
            "HTTP Observatory score (algorithm 5) of the headers check's last run",
            ["service", "check"],
        ),
        "runs": CounterMetricFamily(
            "auditor_runs",
            "Check runs stored, by kind and raw run status (all nodes, since the database began)",
            labels=["kind", "status"],
        ),
        "deliveries": CounterMetricFamily(
            "auditor_alert_deliveries",
            "Alert deliveries that reached a final result, by receiver",
            labels=["receiver", "result"],
        ),
        "outbox": GaugeMetricFamily(
            "auditor_outbox_pending",
            "Alert work not done yet: unprocessed transitions and pending deliveries",
            labels=["queue"],
        ),
        "checks": GaugeMetricFamily(
            "auditor_checks",
            "Enabled checks, by kind and effective state",
            labels=["kind", "status"],
        ),
    }
    if readiness:
        f["score"] = RowsGauge(
            "auditor_service_readiness_score",
            "Readiness score of the service, 0-100 (DESIGN §6)",
            ["service"],
        )
        f["ready"] = RowsGauge(
            "auditor_service_ready",
            "1 when the service's verdict is ready or ready_with_warnings, else 0",
            ["service"],
        )
    return f


def fill_checks(f: dict[str, Any], rows: Iterable[CheckRow], now: datetime) -> None:
    status, success = f["status"], f["success"]
    duration, last_run = f["duration"], f["last_run"]
    cert, headers = f["cert"], f["headers"]
    per_kind: dict[tuple[str, str], int] = {}
    known = frozenset(STATES)
    for row in rows:
        labels = (row.service, row.check, row.kind)
        shown = effective(row.state or "unknown", row.last_run_at, row.interval_s, now)
        if shown not in known:
            shown = "unknown"
        per_kind[(row.kind, shown)] = per_kind.get((row.kind, shown), 0) + 1
        status.add_state(labels, shown)
        if shown != "unknown":
            success.add_metric(labels, 1.0 if shown in ("pass", "warn") else 0.0)
        if row.last_run_at is not None:
            last_run.add_metric(labels, row.last_run_at.timestamp())
            if row.last_duration_ms is not None:
                duration.add_metric(labels, row.last_duration_ms / 1000.0)
        if row.kind == "tls":
            not_after = _number(row.metrics.get("not_after_ts"))
            if not_after is not None:
                cert.add_metric((row.service, row.check), not_after)
        elif row.kind == "headers":
            score = _number(row.metrics.get("score"))
            if score is not None:
                headers.add_metric((row.service, row.check), score)
    for (kind, state), n in sorted(per_kind.items()):
        f["checks"].add_metric([kind, state], float(n))


def fill_counters(f: dict[str, Any], snap: Snapshot) -> None:
    runs = dict(snap.counters.get("runs", {}))
    for kind in {k for k, _ in runs} | {row.kind for row in snap.checks}:
        for status in RUN_STATUSES:
            runs.setdefault((kind, status), 0)
    for (kind, status), total in sorted(runs.items()):
        f["runs"].add_metric([kind, status], float(total))
    for (receiver, result), total in sorted(snap.counters.get("alert_deliveries", {}).items()):
        f["deliveries"].add_metric([receiver, result], float(total))
    f["outbox"].add_metric(["transitions"], float(snap.transitions_pending))
    f["outbox"].add_metric(["deliveries"], float(snap.deliveries_pending))


def fill_readiness(
    f: dict[str, Any], rows: Iterable[CheckRow], readiness: Mapping[str, Any]
) -> None:
    names = {row.service_id: row.service for row in rows}
    for service_id, item in readiness.items():
        name = names.get(service_id)
        if name is None:  # disabled / removed service, or one without enabled checks
            name = getattr(item, "service", None) or getattr(item, "name", None)
        if not isinstance(name, str):
            continue
        score = _number(getattr(item, "score", None))
        if score is not None:
            f["score"].add_metric([name], score)
        f["ready"].add_metric([name], _ready_value(getattr(item, "verdict", None)))
