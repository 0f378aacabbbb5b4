"""Scrape cost of /metrics against the number of checks and the size of the run history.

    .venv/bin/python benchmarks/metrics_scrape.py [--checks 1000,4000,8000] [--runs 5000000]

For each check count: a fresh SQLite store populated through the real repositories (sync_config,
claim_due, complete), then timed cold scrapes (the /metrics registry written as the endpoint
writes it, process collector excluded, the shared readiness evaluation invalidated first). Then ``--runs`` extra rows are bulk-inserted into ``run`` (the
counter trigger fires for each) and the largest store is scraped again: the figures must
not move, since no scrape query reads the run table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from prometheus_client import generate_latest

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.metrics import build_registry
from auditor.metrics.exposition import render
from auditor.schedule.rules import COMPLETION_RULES
from auditor.schedule.runner import RunResult
from auditor.store.claims import claim_due
from auditor.store.db import Database
from auditor.store.runs import complete
from checks.base import RunStatus

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KINDS = ("health", "tls", "headers", "redirect")
STATUSES = ("pass", "warn", "fail", "error")


def populate(url: str, checks: int, per_service: int = 20) -> Database:
    services = []
    for i in range(max(1, checks // per_service)):
        services.append(
            {
                "name": f"svc-{i:04d}",
                "url": f"https://svc-{i}.example.com",
                "checks": [
                    {"kind": KINDS[j % len(KINDS)], "name": f"c{j:02d}", "interval": "5m"}
                    for j in range(per_service)
                ],
            }
        )
    store = Database(url)
    sync_config(store, parse_config({"services": services}, environ={}), now=T0)
    n = 0
    while True:
        claims = claim_due(store, "bench", T0, 500, 60.0)
        if not claims:
            break
        items = []
        for c in claims:
            n += 1
            facts: dict[str, object] = {}
            if c.kind == "tls":
                facts = {"not_after_ts": T0.timestamp() + 30 * 86400}
            elif c.kind == "headers":
                facts = {"observatory": {"score": 80, "grade": "B"}}
            items.append(
                (
                    c,
                    RunResult(
                        target=c.target,
                        status=RunStatus(STATUSES[n % 4]),
                        summary="bench",
                        findings=[],
                        facts=facts,
                        started_at=T0,
                        duration_ms=12.5,
                    ),
                )
            )
        complete(store, COMPLETION_RULES, items, "bench", now=T0)
    return store


def scrape_times(store: Database, repeat: int) -> tuple[list[float], int]:
    """Cold scrapes as ``/metrics`` serves them (``render``, the fast exposition path): the
    shared fleet evaluation is invalidated before each, so each reads and evaluates anew."""
    registry = build_registry(store, process=False, now=lambda: T0 + timedelta(minutes=1))
    render(registry, generate_latest)  # warm-up
    times = []
    size = 0
    for _ in range(repeat):
        store.generation += 1  # what a foreground write does: no shared evaluation to reuse
        t = time.perf_counter()
        size = len(render(registry, generate_latest))
        times.append(time.perf_counter() - t)
    return times, size


def add_runs(store: Database, runs: int, batch: int = 50_000) -> float:
    with store.read() as s:
        ids = [r[0] for r in s.execute(sa.text("SELECT id, service_id FROM check_def"))]
        svc = dict(s.execute(sa.text("SELECT id, service_id FROM check_def")).all())
    started = time.perf_counter()
    stmt = sa.text(
        "INSERT INTO run (id, check_id, service_id, status, summary, findings, facts,"
        " duration_ms, started_at, due_at, created_at) VALUES (:id, :c, :s, :st, '', '[]',"
        " '{}', 10.0, :t, :d, :t)"
    )
    done = 0
    while done < runs:
        rows = []
        for k in range(done, min(runs, done + batch)):
            check = ids[k % len(ids)]
            due = (T0 - timedelta(minutes=5 * (1 + k // len(ids)))).replace(tzinfo=None)
            rows.append(
                {
                    "id": f"b{k}",
                    "c": check,
                    "s": svc[check],
                    "st": STATUSES[k % 4],
                    "t": due,
                    "d": due,
                }
            )
        with store.write() as s:
            s.execute(stmt, rows)
        done += len(rows)
    return time.perf_counter() - started


def fmt(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1000:7.1f} ms  max {max(times) * 1000:7.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checks", default="1000,4000,8000")
    ap.add_argument("--runs", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    counts = [int(x) for x in args.checks.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        store = None
        for n in counts:
            if store is not None:
                store.close()
            t = time.perf_counter()
            store = populate(f"sqlite:///{tmp}/bench-{n}.db", n)
            setup = time.perf_counter() - t
            times, size = scrape_times(store, args.repeat)
            per = statistics.median(times) / n * 1e6
            print(
                f"checks={n:6d} runs={n:8d}  scrape {fmt(times)}  ({per:5.1f} us/check,"
                f" {size / 1024:7.0f} KiB)  [setup {setup:.1f}s]",
                flush=True,
            )
        assert store is not None
        if args.runs:
            took = add_runs(store, args.runs)
            with store.read() as s:
                total = s.execute(sa.text("SELECT COUNT(*) FROM run")).scalar_one()
            times, size = scrape_times(store, args.repeat)
            print(
                f"checks={counts[-1]:6d} runs={total:8d}  scrape {fmt(times)}"
                f"  [inserted {args.runs} runs in {took:.0f}s]",
                flush=True,
            )
            with store.read() as s:
                counted = s.execute(
                    sa.text("SELECT SUM(total) FROM metric_counter WHERE family = 'runs'")
                ).scalar_one()
            print(f"auditor_runs_total sum = {counted} (run rows = {total})")
        store.close()


if __name__ == "__main__":
    main()
