"""``make bench``: probe throughput vs blackbox_exporter, scheduler at scale (SQLite and
PostgreSQL), multi-node, read paths and storage growth, on one machine, loopback only.

Prints a table and writes ``benchmarks/results.json``. Every phase is bounded in time.
``--quick`` shrinks every phase; ``--only probe,scheduler,multi_node,read_paths,storage``
selects phases. PostgreSQL: ``127.0.0.1:5432`` (user postgres); the database ``bench`` is
created and dropped here.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter, defaultdict
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.targets import Blackbox, Nginx, free_port, proc_cpu_s, tree_rss_mb  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
PG_BENCH_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
PG_READ_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_read"
RESULTS = ROOT / "benchmarks" / "results.json"
PHASES = ("probe", "scheduler", "multi_node", "scale", "read_paths", "storage")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, round(p / 100 * (len(v) - 1))))
    return v[k]


# -- PostgreSQL ---------------------------------------------------------------------------


def pg_recreate(name: str = "bench") -> None:
    import psycopg

    pg_drop(name)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")


def pg_drop(name: str = "bench") -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(f"DROP DATABASE IF EXISTS {name}")


# -- seeding ------------------------------------------------------------------------------


def seed_checks(
    store: Any,
    urls: list[str],
    *,
    services: int,
    per_service: int,
    interval_s: float,
    kinds: list[str] | None = None,
    now: datetime | None = None,
) -> list[tuple[str, str]]:
    """Services and checks inserted directly (source ``api`` so config sync leaves them);
    ``next_run_at`` is each check's next grid point, so they are spread like a running fleet.

    API-made checks may not name a ``ca_file``: a worker probing them runs with
    :func:`trusting` the benchmark CA as its system store (the same verification work)."""
    from auditor.schedule.triggers import next_fire
    from auditor.store.models import Check, CheckState, Service

    now = now or datetime.now(UTC)
    svc_rows, chk_rows, st_rows, ids = [], [], [], []
    for i in range(services):
        svc = Service(name=f"svc{i:05d}", url=urls[i % len(urls)], source="api", owner="bench")
        svc_rows.append(svc.model_dump())
        for j in range(per_service):
            kind = kinds[j % len(kinds)] if kinds else "health"
            options: dict[str, Any] = {}
            if kind == "health":
                options["path"] = "/health"
            chk = Check(
                service_id=svc.id, name=f"{kind}-{j}", kind=kind, options=options,
                interval_s=interval_s, timeout_s=5.0, source="api",
            )  # fmt: skip
            chk.next_run_at = next_fire(chk.id, interval_s, None, now)
            chk_rows.append(chk.model_dump())
            st_rows.append(CheckState(check_id=chk.id, service_id=svc.id).model_dump())
            ids.append((chk.id, svc.id))
    with store.write() as s:
        for table, rows in (
            (Service.__table__, svc_rows),  # type: ignore[attr-defined]
            (Check.__table__, chk_rows),  # type: ignore[attr-defined]
            (CheckState.__table__, st_rows),  # type: ignore[attr-defined]
        ):
            for k in range(0, len(rows), 2000):
                s.execute(table.insert(), rows[k : k + 2000])
    return ids


# -- 1. probe throughput ------------------------------------------------------------------


async def auditor_pass(urls: list[str], ca: str, concurrency: int) -> dict[str, Any]:
    """One pass as ``auditor audit`` runs it: every target's checks in claim order (service,
    then check name: health before tls), ``concurrency`` at a time, through one shared prober.

    Fair to blackbox_exporter: the measured pass starts with a fresh prober (no pooled
    connection, no recorded handshake), so each target costs one new TCP+TLS connection for
    health, verified against the same CA as blackbox's; the tls check reuses that verified
    handshake when it is the same host/port/trust store (as blackbox's one probe covers both)
    and adds its own TLS 1.0/1.1 probes, which blackbox does not do.
    """
    from auditor.config import AuditorSettings
    from auditor.probe.http import HttpProber
    from auditor.schedule.runner import run_check
    from checks.base import Target
    from checks.registry import get_check

    opts = {
        "health": get_check("health").Options.model_validate({"path": "/health", "ca_file": ca}),
        "tls": get_check("tls").Options.model_validate({"ca_file": ca}),
    }
    sem = asyncio.Semaphore(concurrency)
    statuses: Counter[str] = Counter()

    async def one(prober: HttpProber, url: str, kind: str) -> None:
        async with sem:
            target = Target(service=url, url=url, check=kind, kind=kind)
            res = await run_check(get_check(kind), target, opts[kind], prober=prober, timeout=10)
            statuses[f"{kind}:{res.status}"] += 1
            if kind == "tls" and (res.facts.get("handshake") or {}).get("shared"):
                statuses["tls:shared_handshake"] += 1

    def new_prober() -> HttpProber:
        return HttpProber(AuditorSettings().address_policy(), max_connections=concurrency * 2)

    # warm-up (lazy imports, shared SSL contexts), as in a running daemon; not measured, and
    # on a prober of its own so no measured target finds a pooled connection or handshake
    warm = new_prober()
    await asyncio.gather(*(one(warm, u, k) for u in urls[-3:] for k in ("health", "tls")))
    await warm.aclose()
    statuses.clear()
    prober = new_prober()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    await asyncio.gather(*(one(prober, u, k) for u in urls for k in ("health", "tls")))
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    await prober.aclose()
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "statuses": dict(statuses)}


async def blackbox_pass(bb: Blackbox, urls: list[str], concurrency: int) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    ok = Counter[str]()
    sem = asyncio.Semaphore(concurrency)
    assert bb.proc is not None
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(url: str) -> None:
            async with sem:
                r = await client.get(
                    f"http://127.0.0.1:{bb.port}/probe",
                    params={"module": "http_2xx", "target": url + "/health"},
                )
                ok["success" if "\nprobe_success 1" in r.text else "failure"] += 1

        await one(urls[0])  # warm-up
        ok.clear()
        c0 = proc_cpu_s(bb.proc.pid, children=False)
        t0 = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        wall = time.perf_counter() - t0
        cpu = proc_cpu_s(bb.proc.pid, children=False) - c0
    return {"wall_s": wall, "cpu_s": cpu, "statuses": dict(ok)}


def phase_probe(args: argparse.Namespace, nginx: Nginx, work: Path) -> dict[str, Any]:
    n = 200 if args.quick else 2000
    urls = nginx.urls()[:n]
    assert len(urls) == n, f"only {len(urls)} target URLs"
    out: dict[str, Any] = {"targets": n, "concurrency": 100}
    bb = Blackbox(work, nginx.ca)
    try:
        bb.start()
    except (FileNotFoundError, RuntimeError) as exc:
        bb = None  # type: ignore[assignment]
        out["blackbox_error"] = f"prometheus-blackbox-exporter unavailable: {exc}"
    ours = asyncio.run(auditor_pass(urls, str(nginx.ca), 100))
    theirs = asyncio.run(blackbox_pass(bb, urls, 100)) if bb is not None else None
    if bb is not None:
        bb.stop()
    # one auditor "check" of a target = its health + tls checks (blackbox's http_2xx with
    # TLS verification checks both in one probe); per-run figures are given too
    out["auditor_checks_per_s"] = round(n / ours["wall_s"], 1)
    out["auditor_check_runs_per_s"] = round(2 * n / ours["wall_s"], 1)
    out["auditor_cpu_s_per_1k"] = round(ours["cpu_s"] / n * 1000, 2)
    out["auditor_statuses"] = ours["statuses"]
    if theirs is not None:
        out["blackbox_probes_per_s"] = round(n / theirs["wall_s"], 1)
        out["blackbox_cpu_s_per_1k"] = round(theirs["cpu_s"] / n * 1000, 2)
        out["blackbox_statuses"] = theirs["statuses"]
        out["ratio"] = round(out["auditor_checks_per_s"] / out["blackbox_probes_per_s"], 2)
    return out


# -- 2. scheduler at scale ----------------------------------------------------------------


def child_worker(url: str, seconds: float, concurrency: int, lease: float) -> None:
    """Runs in a subprocess: one Worker (as ``auditor worker`` builds it) for ``seconds``,
    on the default probe engine (``[auditor] probe_engine``; ``BENCH_PROBE_ENGINE`` overrides)."""
    from auditor.config import AuditorSettings
    from auditor.probe.engines import new_prober
    from auditor.schedule.worker import Worker, make_worker_id
    from auditor.store.db import Database

    store = Database(url, pool_size=max(5, min(concurrency // 10, 20)), migrate=False)
    settings = AuditorSettings()
    engine = os.environ.get("BENCH_PROBE_ENGINE") or settings.probe_engine
    prober = new_prober(engine, settings.address_policy(), max_connections=concurrency * 2)  # type: ignore[arg-type]
    worker = Worker(
        store, prober=prober, concurrency=concurrency, lease_s=lease, worker_id=make_worker_id()
    )

    ready_at: datetime | None = None

    async def main() -> None:
        nonlocal ready_at
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        ready_at = datetime.now(UTC)  # the lag window starts here, not at process start
        await worker.run(stop)
        await prober.aclose()

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    asyncio.run(main())
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    hwm = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    assert ready_at is not None
    print(json.dumps({"peak_rss_mb": round(hwm / 1024, 1), "runs": worker.runs_completed,
                      "engine": engine,
                      "cpu_s": round(cpu, 1), "cpu_ms_per_run": round(1000 * cpu / max(1, worker.runs_completed), 2),
                      "ready_at": ready_at.isoformat()}))  # fmt: skip


def trusting(ca: str | Path, **extra: str) -> dict[str, str]:
    """A worker's environment in which the benchmark CA is the system trust store."""
    return {**os.environ, "SSL_CERT_FILE": str(ca), **extra}


def require_passing(metrics: dict[str, Any], what: str) -> None:
    """Refuse a figure measured on failing checks: a fleet of errors (a refused option, an
    unreachable target) is cheap to schedule and would flatter every cost and lag figure."""
    statuses = metrics.get("statuses") or {}
    total = sum(statuses.values())
    if total == 0 or statuses.get("pass", 0) < 0.99 * total:
        raise RuntimeError(f"{what}: not a measurement of working probes: {statuses} "
                           f"{metrics.get('errors')}")  # fmt: skip


def run_metrics(store: Any, w0: datetime, w1: datetime, interval_s: float) -> dict[str, Any]:
    """Lag, missed and duplicated runs for due times in [w0, w1] (every check on its grid)."""
    import sqlalchemy as sa

    from auditor.schedule.triggers import EPOCH, _offset

    with store.engine.connect() as conn:
        checks = [r[0] for r in conn.execute(sa.text("SELECT id FROM check_def WHERE enabled"))]
    from sqlmodel import col, select

    from auditor.store.models import Run

    with store.read() as s:
        rows = s.exec(
            select(  # type: ignore[call-overload]
                Run.check_id, Run.due_at, Run.started_at, Run.worker, Run.status, Run.summary
            ).where(col(Run.due_at) >= w0, col(Run.due_at) <= w1)
        ).all()
    lags = [(st - due).total_seconds() for _, due, st, *_ in rows]
    per_check: dict[str, list[datetime]] = defaultdict(list)
    for cid, due, *_ in rows:
        per_check[cid].append(due)
    expected = 0
    for cid in checks:
        anchor = (EPOCH + timedelta(seconds=_offset(cid, interval_s))).timestamp()
        a, b = w0.timestamp(), w1.timestamp()
        first = anchor + max(0, -(-(a - anchor) // interval_s)) * interval_s
        expected += 0 if first > b else int((b - first) // interval_s) + 1
    duplicates = 0
    for dues in per_check.values():
        dues.sort()
        duplicates += sum(
            1 for x, y in itertools.pairwise(dues) if (y - x).total_seconds() < interval_s / 2
        )
    return {
        "runs": len(rows),
        "expected": expected,
        "missed": max(0, expected - len(rows)),
        "duplicates": duplicates,
        "p50_lag_s": round(pct(lags, 50) or 0, 3),
        "p99_lag_s": round(pct(lags, 99) or 0, 3),
        "max_lag_s": round(max(lags, default=0), 3),
        "statuses": dict(Counter(r[4] for r in rows)),
        # a fleet of errors is cheap to schedule: say why, so such a run is not mistaken
        "errors": dict(Counter(r[5][:120] for r in rows if r[4] == "error").most_common(3)),
        "by_worker": dict(Counter(r[3] for r in rows)),
    }


def scheduler_on(url: str, urls: list[str], ca: str, n: int, seconds: float) -> dict[str, Any]:
    from auditor.store.db import Database

    store = Database(url)
    t = time.perf_counter()
    seed_checks(store, urls, services=n // 10, per_service=10, interval_s=60)
    seeded = time.perf_counter() - t
    start = datetime.now(UTC)
    proc = subprocess.run(
        [sys.executable, __file__, "--child-worker", url, str(seconds), "100", "60"],
        capture_output=True, text=True, timeout=seconds + 120,
        env=trusting(ca),
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed: {proc.stderr[-2000:]}")
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    # due times from 2 s after the worker's loop started (process start-up and imports are
    # not scheduling lag) to 10 s before it stopped
    ready = max(start, datetime.fromisoformat(child.pop("ready_at")))
    end = ready + timedelta(seconds=seconds)
    m = run_metrics(store, ready + timedelta(seconds=2), end - timedelta(seconds=10), 60)
    m.pop("by_worker")
    store.close()
    require_passing(m, f"scheduler on {url.split(':')[0]}")
    return {"checks": n, "seconds": seconds, "seed_s": round(seeded, 1), **child, **m}


def phase_scheduler(args: argparse.Namespace, nginx: Nginx, work: Path) -> dict[str, Any]:
    n = 2000 if args.quick else 10_000
    seconds = 60.0 if args.quick else args.scheduler_seconds
    urls = nginx.urls()
    out: dict[str, Any] = {}
    sqlite_url = f"sqlite:///{work}/sched.db"
    log(f"scheduler: SQLite, {n} checks, {seconds:.0f}s")
    out["sqlite"] = scheduler_on(sqlite_url, urls, str(nginx.ca), n, seconds)
    log(f"scheduler: PostgreSQL, {n} checks, {seconds:.0f}s")
    # a database of its own: other phases (or a concurrent run of them) drop ``bench``
    pg_recreate("bench_sched")
    try:
        out["postgresql"] = scheduler_on(
            PG_BENCH_URL.replace("/bench", "/bench_sched"), urls, str(nginx.ca), n, seconds
        )
    finally:
        pg_drop("bench_sched")
    worst = max(out.values(), key=lambda r: r["p99_lag_s"])
    return {
        "checks": n,
        "p50_lag_s": max(r["p50_lag_s"] for r in out.values()),
        "p99_lag_s": worst["p99_lag_s"],
        "missed": sum(r["missed"] for r in out.values()),
        "duplicates": sum(r["duplicates"] for r in out.values()),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in out.values()),
        "store": out,
    }


# -- 3. multi-node ------------------------------------------------------------------------


def phase_multi_node(args: argparse.Namespace, nginx: Nginx, work: Path) -> dict[str, Any]:
    import sqlalchemy as sa

    from auditor.store.db import Database

    n = 3000 if args.quick else 10_000
    lease = 30.0
    before_kill = 45.0 if args.quick else 75.0
    after_kill = lease + 25.0
    pg_recreate()
    store = Database(PG_BENCH_URL)
    seed_checks(store, nginx.urls(), services=n // 10, per_service=10, interval_s=60)
    cfg = work / "multi.toml"
    cfg.write_text(
        f'[auditor]\ndatabase_url = "{PG_BENCH_URL}"\nconcurrency = 100\n'
        f'lease = "{int(lease)}s"\nlog_level = "error"\n'
    )
    auditor_bin = str(Path(sys.executable).parent / "auditor")
    start = datetime.now(UTC)
    procs = [
        subprocess.Popen(
            [auditor_bin, "worker", "--config", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=trusting(nginx.ca),
        )
        for _ in range(3)
    ]
    try:
        time.sleep(before_kill)
        victim = procs[0]
        victim.send_signal(signal.SIGKILL)
        kill_at = datetime.now(UTC)
        victim.wait()
        with store.engine.connect() as conn:
            orphans = [
                r[0]
                for r in conn.execute(
                    sa.text(
                        "SELECT id FROM check_def WHERE lease_owner LIKE :p AND lease_until > :t"
                    ),
                    {"p": f"%:{victim.pid}:%", "t": kill_at},
                )
            ]
        time.sleep(after_kill)
    finally:
        for p in procs[1:]:
            p.send_signal(signal.SIGTERM)
        for p in procs[1:]:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
    # split while all three ran (due times in [start + 5 s, kill - 5 s])
    pre = run_metrics(store, start + timedelta(seconds=5), kill_at - timedelta(seconds=5), 60)
    counts = sorted(pre["by_worker"].values())
    mean = sum(counts) / max(len(counts), 1)
    spread = max((abs(c / mean - 1) for c in counts), default=0.0)
    whole = run_metrics(
        store, start + timedelta(seconds=5), datetime.now(UTC) - timedelta(seconds=5), 60
    )
    require_passing(whole, "multi-node")
    takeover = None
    with store.engine.connect() as conn:
        if orphans:
            row = conn.execute(
                sa.text(
                    "SELECT count(DISTINCT check_id), max(first) FROM (SELECT check_id, min(started_at)"
                    " AS first FROM run WHERE check_id = ANY(:ids) AND started_at > :t"
                    " AND worker NOT LIKE :p GROUP BY check_id) x"
                ),
                {"ids": orphans, "t": kill_at, "p": f"%:{victim.pid}:%"},
            ).one()
            if row[1] is not None:
                takeover = round((row[1].replace(tzinfo=UTC) - kill_at).total_seconds(), 1)
            taken = int(row[0])
        else:
            taken = 0
    store.close()
    return {
        "workers": 3,
        "checks": n,
        "split": counts,
        "split_max_deviation": round(spread, 3),
        "duplicates": whole["duplicates"],
        "missed": whole["missed"],
        "takeover_s": takeover,
        "lease_s": lease,
        "orphaned_checks": len(orphans),
        "orphans_taken_over": taken,
        "p99_lag_s": whole["p99_lag_s"],
        "statuses": whole["statuses"],
    }


# -- 3b. cost as the fleet grows ------------------------------------------------------------


def scale_step(n: int, rate: float, window: float, nginx: Nginx, work: Path) -> dict[str, Any]:
    """``n`` checks on PostgreSQL, one ``auditor worker`` with ``worker_processes = 3``, each
    check every ``n / rate`` seconds: the same probe rate at every size, so CPU per run shows
    what the fleet's size alone costs (claim and write queries over bigger tables)."""
    import sqlalchemy as sa

    from auditor.store.db import Database

    interval = max(5, round(n / rate))
    pg_recreate("bench_scale")
    url = PG_BENCH_URL.replace("/bench", "/bench_scale")
    store = Database(url)
    t = time.perf_counter()
    seed_checks(store, nginx.urls(), services=n // 10, per_service=10, interval_s=interval)
    seeded = time.perf_counter() - t
    cfg = work / f"scale-{n}.toml"
    cfg.write_text(
        f'[auditor]\ndatabase_url = "{url}"\nconcurrency = 100\nworker_processes = 3\n'
        'log_level = "error"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "worker", "--config", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env=trusting(nginx.ca, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    try:
        time.sleep(20)  # imports, forks, the first claims: not steady state
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited: {proc.stderr.read().decode()[-1500:]}")  # type: ignore[union-attr]
        c0, t0 = proc_cpu_s(proc.pid), datetime.now(UTC)
        time.sleep(window)
        c1, t1 = proc_cpu_s(proc.pid), datetime.now(UTC)
        rss = tree_rss_mb(proc.pid)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with store.engine.connect() as conn:
        started = conn.execute(
            sa.text("SELECT count(*) FROM run WHERE started_at >= :a AND started_at < :b"),
            {"a": t0, "b": t1},
        ).scalar_one()
    m = run_metrics(store, t0, t1 - timedelta(seconds=10), interval)
    store.close()
    pg_drop("bench_scale")
    require_passing(m, f"scale at {n} checks")
    return {
        "checks": n,
        "interval_s": interval,
        "seed_s": round(seeded, 1),
        "window_s": round((t1 - t0).total_seconds(), 1),
        "runs_started": started,
        "runs_per_s": round(started / (t1 - t0).total_seconds(), 1),
        "cpu_ms_per_run": round(1000 * (c1 - c0) / max(1, started), 2),
        "rss_mb_all_processes": rss,
        "split": sorted(m["by_worker"].values()),
        **{k: m[k] for k in ("runs", "expected", "missed", "duplicates", "p50_lag_s",
                             "p99_lag_s", "max_lag_s", "statuses", "errors")},
    }  # fmt: skip


def phase_scale(args: argparse.Namespace, nginx: Nginx, work: Path) -> dict[str, Any]:
    sizes = [1000, 5000] if args.quick else [int(x) for x in args.scale_sizes.split(",")]
    window = 45.0 if args.quick else args.scale_seconds
    rows = []
    for n in sizes:
        log(f"scale: {n} checks on PostgreSQL, 3 worker processes, {args.scale_rate}/s")
        rows.append(scale_step(n, args.scale_rate, window, nginx, work))
        log(f"scale: {rows[-1]}")
    return {
        "worker_processes": 3,
        "rate_per_s": args.scale_rate,
        "rows": rows,
        "cpu_growth_first_to_last": round(
            rows[-1]["cpu_ms_per_run"] / max(rows[0]["cpu_ms_per_run"], 1e-9), 2
        ),
        "p99_lag_s": max(r["p99_lag_s"] for r in rows),
        "missed": sum(r["missed"] for r in rows),
        "duplicates": sum(r["duplicates"] for r in rows),
    }


# -- 4. read paths ------------------------------------------------------------------------


def child_web(url: str, port: int) -> None:
    from auditor.config import parse_config
    from auditor.process.web_server import WebServer
    from auditor.store.db import Database
    from web import create_app

    config = parse_config(
        {"auditor": {"database_url": url, "anonymous_read": True, "log_level": "error"}},
        environ={},
    )
    store = Database(url, pool_size=16, migrate=False)
    app = create_app(config, store)
    app.config["API_RATE_LIMIT"] = 10**9
    server = WebServer(app, "127.0.0.1", port)
    server.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop()


def copy_runs(ids: list[tuple[str, str]], total: int, days: int, db: str = "bench_read") -> float:
    """``total`` runs spread over ``days`` via COPY, then each check's latest state set from
    its newest run (as a running daemon leaves it: fresh, with tls/headers metrics), so the
    read paths show a populated fleet rather than 8,000 never-run checks."""
    import psycopg

    now = datetime.now(UTC)
    span = days * 86400
    per_check = max(1, total // len(ids))
    t0 = time.perf_counter()
    statuses = ["pass"] * 17 + ["warn", "fail", "error"]
    kinds: dict[str, str] = {}
    latest: list[tuple[Any, ...]] = []
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={db}") as conn:
        kinds = dict(conn.execute("SELECT id, kind FROM check_def").fetchall())  # type: ignore[arg-type]
        # the metric-counter trigger updates one counter row per inserted run: skipped for
        # seeding (500k updates of one row in one transaction take many minutes)
        conn.execute("SET session_replication_role = replica")
        # plain secondary indexes are built once after the load (the same definitions, from
        # the catalog) rather than maintained row by row: seeding 5 M runs in ~half the time
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'run'"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY run (id, check_id, service_id, status, summary, findings, facts, duration_ms,"
                " started_at, due_at, worker, created_at) FROM STDIN"
            ) as cp,
        ):
            step = span / per_check
            rnd = random.Random(7)
            for cid, sid in ids:
                run_id, status = "", "pass"
                for k in range(per_check):
                    at = now - timedelta(seconds=span - k * step)
                    run_id, status = str(uuid.uuid4()), statuses[rnd.randrange(20)]
                    cp.write_row((
                        run_id, cid, sid, status, "ok", "[]",
                        '{"status": 200}', 12.5, at, at, "bench", at,
                    ))  # fmt: skip
                latest.append((cid, run_id, status, now - timedelta(seconds=rnd.uniform(0, 240))))
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE latest (check_id text, run_id text, status text,"
                " at timestamptz, metrics text, findings text)"
            )
            with cur.copy("COPY latest FROM STDIN") as cp:
                for cid, run_id, status, at in latest:
                    kind = kinds.get(cid, "health")
                    metrics: dict[str, Any] = {}
                    if kind == "tls":
                        metrics = {"not_after_ts": now.timestamp() + 40 * 86400, "days_left": 40}
                    elif kind == "headers":
                        metrics = {"score": 80, "grade": "B"}
                    findings = [] if status == "pass" else [
                        {"code": f"{kind}.bench", "severity": "high", "message": "bench finding"}
                    ]  # fmt: skip
                    cp.write_row((cid, run_id, status, at, json.dumps(metrics),
                                  json.dumps(findings)))  # fmt: skip
            cur.execute(
                "UPDATE check_state s SET state = l.status, raw_status = l.status, since = l.at,"
                " last_run_id = l.run_id, last_run_at = l.at, last_duration_ms = 12.5,"
                " last_summary = 'ok', last_findings = l.findings::json, metrics = l.metrics::json,"
                " runs_total = %s FROM latest l WHERE s.check_id = l.check_id",
                (per_check,),
            )
        conn.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
        conn.execute("ANALYZE")
    return time.perf_counter() - t0


WRK_LUA = """
local names = {}
for i = 0, %(n)d - 1 do names[#names + 1] = string.format("svc%%05d", i) end
request = function()
  local path = "%(path)s"
  if string.find(path, "{name}") then
    path = string.gsub(path, "{name}", names[math.random(#names)])
  end
  return wrk.format(nil, path)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d\\n", latency:percentile(95), latency:percentile(50),
    summary.requests, e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def wrk(
    port: int, path: str, n_services: int, work: Path, seconds: int, headers: dict[str, str]
) -> dict[str, Any]:
    script = work / f"wrk{abs(hash(path))}.lua"
    script.write_text(WRK_LUA % {"n": n_services, "path": path})
    cmd = ["wrk", "-t2", "-c4", f"-d{seconds}s", "-s", str(script)]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}/"], capture_output=True, text=True,
                         timeout=seconds + 60).stdout  # fmt: skip
    line = next((x for x in out.splitlines() if x.startswith("RESULT")), None)
    if line is None:
        return {"error": out[-500:]}
    p95, p50, reqs, errs = (int(x) for x in line.split()[1:])
    if errs >= reqs > 0:  # every request failed (wrk's 2 s timeout): no latency recorded
        return {"p95_ms": 2000.0, "requests": reqs, "errors": errs,
                "note": "every request timed out (wrk 2 s): p95 > 2000 ms"}  # fmt: skip
    if reqs == 0:  # nothing answered inside the window: the latency is at least the window
        return {"p95_ms": seconds * 1000.0, "requests": 0, "errors": errs,
                "note": f"no response within {seconds}s"}  # fmt: skip
    return {"p95_ms": round(p95 / 1000, 1), "p50_ms": round(p50 / 1000, 1), "requests": reqs,
            "errors": errs, "rps": round(reqs / seconds, 1)}  # fmt: skip


#: what Prometheus sends (it prefers OpenMetrics), and the plain text format
SCRAPE_ACCEPT = {
    "openmetrics": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "text": "text/plain;version=0.0.4",
}


def cold_scrapes(base: str, pid: int, rounds: int) -> list[dict[str, Any]]:
    """``/metrics`` as Prometheus scrapes it: nothing else running and more than the read
    caches' 5 s TTL apart, so every scrape reads and evaluates the whole fleet anew."""
    import httpx

    from auditor.readiness.cache import SNAPSHOT_TTL_S
    from benchmarks.targets import proc_cpu_s

    out = []
    for i in range(rounds):
        for fmt, accept in SCRAPE_ACCEPT.items():
            time.sleep(SNAPSHOT_TTL_S + 1.0)
            cpu0, t = proc_cpu_s(pid, children=False), time.perf_counter()
            resp = httpx.get(base + "/metrics", headers={"Accept": accept}, timeout=30)
            ms = (time.perf_counter() - t) * 1000
            cpu_ms = (proc_cpu_s(pid, children=False) - cpu0) * 1000
            assert resp.status_code == 200, resp.status_code
            samples = sum(1 for x in resp.text.splitlines() if x and not x.startswith("#"))
            out.append({"format": fmt, "ms": round(ms, 1), "cpu_ms": round(cpu_ms, 1),
                        "bytes": len(resp.content), "samples": samples, "round": i})  # fmt: skip
    return out


def _read_db_runs(db: str) -> int | None:
    """Runs stored in an existing read-paths database (None when there is none)."""
    import psycopg

    try:
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={db}") as conn:
            row = conn.execute("SELECT count(*) FROM run").fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else None


def phase_read_paths(args: argparse.Namespace, nginx: Nginx | None, work: Path) -> dict[str, Any]:
    import httpx

    from auditor.store.accounts import create_token
    from auditor.store.db import Database
    from auditor.store.retention import RetentionPolicy, run_retention

    n_services = 1000
    total_runs = args.read_runs if args.read_runs != 5_000_000 or not args.quick else 500_000
    # --keep-db: a database of its own, which runs without the flag (and other phases) drop not
    db = "bench_read_keep" if args.keep_db else "bench_read"
    url = PG_READ_URL.rsplit("/", 1)[0] + "/" + db
    reuse = bool(args.keep_db and _read_db_runs(db) == total_runs)
    copy_s, rollup_s, rollup_complete = 0.0, 0.0, None
    if reuse:  # iterating on the read paths: the seeded database of an earlier --keep-db run
        log(f"read paths: reusing database {db} ({total_runs} runs)")
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={db}") as conn:
            # fresh again, as copy_runs left them (else the fleet reads as stale / unknown)
            conn.execute(
                "UPDATE check_state SET last_run_at = now() - random() * interval '240 s',"
                " since = now() - random() * interval '240 s'"
            )
        store = Database(url, migrate=False)
    else:
        pg_recreate(db)
        store = Database(url)
        kinds = ["tls", "headers", "redirect", "health", "exposure", "health", "health", "tls"]
        ids = seed_checks(store, ["https://127.0.0.1:1"], services=n_services, per_service=8,
                          interval_s=300, kinds=kinds)  # fmt: skip
        log(f"read paths: COPY {total_runs} runs")
        copy_s = copy_runs(ids, total_runs, 30, db)
        log(f"read paths: copied in {copy_s:.0f}s; rolling up")
        # the measured pages read raw runs (24 h) and latest state only: one bounded roll-up
        r = run_retention(store, None, RetentionPolicy(), max_seconds=20 if args.quick else 45)
        rollup_s, rollup_complete = r.seconds, r.complete
        log(f"read paths: roll-up pass {r.seconds:.0f}s complete={r.complete}; starting web")
    _, token = create_token(store, name="bench", role="viewer")
    runs = store.count(__import__("auditor.store.models", fromlist=["Run"]).Run)
    store.close()
    port = free_port()
    web = subprocess.Popen([sys.executable, __file__, "--child-web", url, str(port)],
                           stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        base = f"http://127.0.0.1:{port}"
        for path in ("/", "/services/svc00001", "/api/v1/services?limit=50"):  # warm-up + sanity
            code = httpx.get(
                base + path, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ).status_code
            if code != 200:
                raise RuntimeError(f"GET {path} -> {code}")
        secs = 5 if args.quick else 15
        log("read paths: wrk")
        overview = wrk(port, "/", n_services, work, secs, {})
        service = wrk(port, "/services/{name}", n_services, work, secs, {})
        api = wrk(port, "/api/v1/services?limit=50", n_services, work, secs,
                  {"Authorization": f"Bearer {token}"})  # fmt: skip
        log("read paths: cold /metrics scrapes")
        scrapes = cold_scrapes(base, web.pid, 3 if args.quick else 5)
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            web.wait(timeout=20)
        except subprocess.TimeoutExpired:
            web.kill()
    return {
        "services": n_services,
        "checks": n_services * 8,
        "runs": runs,
        "copy_s": round(copy_s, 1),
        "rollup_s": round(rollup_s, 1),
        "rollup_complete": rollup_complete,
        "reused_db": reuse,
        "overview_p95_ms": overview.get("p95_ms"),
        "service_p95_ms": service.get("p95_ms"),
        "metrics_ms": round(statistics.median(s["ms"] for s in scrapes), 1),
        "metrics_max_ms": round(max(s["ms"] for s in scrapes), 1),
        "metrics_server_cpu_ms": round(statistics.median(s["cpu_ms"] for s in scrapes), 1),
        "metrics_scrapes": scrapes,
        "api_list_p95_ms": api.get("p95_ms"),
        "wrk": {
            "overview": overview,
            "service": service,
            "api_list": api,
            "connections": 4,
            "seconds": secs,
        },
        "store": "postgresql",
    }


# -- 5. storage growth --------------------------------------------------------------------


#: one simulated slot of runs for every check, generated inside SQLite (26 M rows are too
#: many to build in Python); uuid-shaped ids, the fleet's status mix, each check at its phase
_STORAGE_INSERT = """
INSERT INTO run (id, check_id, service_id, status, summary, findings, facts, duration_ms,
                 started_at, due_at, worker, created_at)
SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a'
       || substr(h, 18, 3) || '-' || substr(h, 21, 12),
       check_id, service_id,
       CASE abs(random()) % 20 WHEN 17 THEN 'warn' WHEN 18 THEN 'fail' WHEN 19 THEN 'error'
            ELSE 'pass' END,
       'ok', '[]', '{"status": 200}', 10.0 + (abs(random()) % 20000) / 1000.0, at, at, 'bench', at
FROM (SELECT lower(hex(randomblob(16))) AS h, c.check_id, c.service_id,
             strftime('%Y-%m-%d %H:%M:%S', :t0 + k.n * :interval + c.phase, 'unixepoch')
             || '.000000' AS at
      FROM bench_slot AS k CROSS JOIN bench_check AS c
      WHERE k.n >= :lo AND k.n < :hi)
"""


def _sqlite_sizes(conn: sqlite3.Connection, path: Path) -> tuple[float, float]:
    """(database file, free pages inside it) in MB, after moving the WAL into the file (a
    running node checkpoints every 1,000 pages; the bench's day-sized transactions would
    otherwise leave a day-sized WAL that production never has)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    return path.stat().st_size / 1e6, page * free / 1e6


def phase_storage(args: argparse.Namespace, nginx: Nginx | None, work: Path) -> dict[str, Any]:
    """90 days of 200 checks at a moved clock: each simulated day's runs are inserted in
    one bulk transaction, then the daemon's own retention pass runs at that day's end; the
    database size is taken every day, and the dashboard's history query reads the
    30/90-day charts at the end. SQLite as the daemon configures it (WAL, no auto_vacuum:
    deleted pages go to the free list and are reused by later inserts)."""
    from auditor.config import AuditorSettings
    from auditor.store.db import Database
    from auditor.store.retention import policy_for, run_retention
    from web.dashboard import data

    days = args.storage_days
    interval = 300 if args.quick else args.storage_interval
    n_checks = 200
    retention_s = AuditorSettings().retention
    policy = policy_for(retention_s)
    path = work / "storage.db"
    store = Database(f"sqlite:///{path}")
    ids = seed_checks(store, ["https://127.0.0.1:1"], services=20, per_service=10,
                      interval_s=interval)  # fmt: skip
    start = datetime(2026, 1, 1, tzinfo=UTC)
    per_day = 86400 // interval
    per_tx = per_day  # one bulk transaction per simulated day
    # the simulated workers' own connection; a bigger page cache only speeds the simulation
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # no fsync: the file's size is what is measured
    conn.execute("PRAGMA cache_size=-524288")
    conn.execute("PRAGMA mmap_size=17179869184")
    conn.execute("CREATE TEMP TABLE bench_slot (n INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO bench_slot VALUES (?)", [(k,) for k in range(per_day)])
    conn.execute("CREATE TEMP TABLE bench_check (check_id TEXT, service_id TEXT, phase INTEGER)")
    rnd = random.Random(3)
    conn.executemany(
        "INSERT INTO bench_check VALUES (?, ?, ?)",
        [(cid, sid, rnd.randrange(interval)) for cid, sid in ids],
    )
    sizes: list[float] = []
    free_mb: list[float] = []
    raw_by_day: list[int] = []
    retention_by_day: list[float] = []
    insert_s = 0.0
    t_phase = time.perf_counter()
    for day in range(days):
        base = start + timedelta(days=day)
        t = time.perf_counter()
        for lo in range(0, per_day, per_tx):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_STORAGE_INSERT, {"t0": int(base.timestamp()), "interval": interval,
                                           "lo": lo, "hi": lo + per_tx})  # fmt: skip
            conn.execute("COMMIT")
        insert_s += time.perf_counter() - t
        t = time.perf_counter()
        report = run_retention(store, base + timedelta(days=1, minutes=5), policy)
        retention_by_day.append(round(time.perf_counter() - t, 1))
        if not report.complete:
            log(f"storage: day {day + 1}: retention pass incomplete {report}")
        db, free = _sqlite_sizes(conn, path)
        sizes.append(round(db, 1))
        free_mb.append(round(free, 1))
        raw_by_day.append(conn.execute("SELECT count(*) FROM run").fetchone()[0])
        if day % 10 == 9 or day == days - 1:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            log(f"storage: day {day + 1}/{days}: {sizes[-1]} MB (free {free:.1f});"
                f" {raw_by_day[-1]:,} raw runs; {time.perf_counter() - t_phase:.0f} s,"
                f" CPU {ru.ru_utime:.0f}+{ru.ru_stime:.0f} s")  # fmt: skip
    now = start + timedelta(days=days, minutes=5)
    check_ids = [c for c, _ in ids]
    charts: dict[str, Any] = {}
    for rng in ("7d", "30d", "90d"):
        if rng not in data.RANGES:
            continue
        h = data.history(store, check_ids[:8], rng, now)
        first = h.buckets[check_ids[0]]
        charts[rng] = {
            "source": h.source,
            "buckets": len(first),
            "buckets_with_runs": sum(1 for b in first if b.total),
            "runs_of_one_check": sum(b.total for b in first),
        }
    counts = dict(
        conn.execute("SELECT period, count(*) FROM run_rollup GROUP BY period").fetchall()
    )
    daily_days = conn.execute(
        "SELECT count(DISTINCT bucket_start) FROM run_rollup WHERE period = 'day'"
    ).fetchone()[0]
    store.close()
    conn.close()
    window_days = int(policy.raw_s // 86400)
    after = sizes[window_days + 1 :]
    return {
        "days": days,
        "checks": n_checks,
        "interval_s": interval,
        "runs_per_day": per_day * n_checks,
        "runs_total": per_day * n_checks * days,
        "retention": {
            "raw_days": policy.raw_s / 86400,
            "hourly_days": policy.hourly_s / 86400,
            "daily_days": policy.daily_s / 86400,
        },
        "db_mb_by_day": sizes,
        "free_mb_by_day": free_mb,
        "raw_runs_by_day": raw_by_day,
        "growth_after_window_mb": round(after[-1] - after[0], 1) if len(after) > 1 else None,
        "peak_db_mb": max(sizes) if sizes else None,
        "raw_runs_at_end": raw_by_day[-1] if raw_by_day else 0,
        "hourly_rollups_at_end": counts.get("hour", 0),
        "daily_rollups_at_end": counts.get("day", 0),
        "history_days_in_daily_rollups": daily_days,
        "charts": charts,
        "insert_s": round(insert_s, 1),
        "retention_s": round(sum(retention_by_day), 1),
        "retention_max_pass_s": max(retention_by_day) if retention_by_day else None,
        "store": "sqlite",
    }


# -- driver -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]

    def ver(cmd: list[str]) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unavailable"

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gb": round(int(mem) / 1e6, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": ver(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version", "test"]
        ),
        "nginx": ver(["nginx", "-v"]),
        "blackbox_exporter": ver(["prometheus-blackbox-exporter", "--version"]),
        "wrk": ver(["wrk", "--version"]),
        "loadavg_at_start": os.getloadavg(),
        "note": "2 cores shared with other processes while measuring; figures are noisy",
    }


GOALS = [
    ("probe_throughput", "ratio", ">=", 1.0),
    ("scheduler", "p99_lag_s", "<=", 1.0),
    ("scheduler", "missed", "<=", 0),
    ("scheduler", "duplicates", "<=", 0),
    ("scheduler", "peak_rss_mb", "<=", 300),
    ("multi_node", "split_max_deviation", "<=", 0.15),
    ("multi_node", "duplicates", "<=", 0),
    ("scale", "p99_lag_s", "<=", 1.0),
    ("scale", "missed", "<=", 0),
    ("scale", "duplicates", "<=", 0),
    ("read_paths", "overview_p95_ms", "<=", 100),
    ("read_paths", "service_p95_ms", "<=", 100),
    ("read_paths", "metrics_ms", "<=", 250),
    ("read_paths", "api_list_p95_ms", "<=", 50),
]


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for phase, key, op, limit in GOALS:
        value = results.get(phase, {}).get(key)
        if value is None:
            continue
        ok = value >= limit if op == ">=" else value <= limit
        out.append({"metric": f"{phase}.{key}", "goal": f"{op} {limit}", "value": value, "met": ok})
    pt = results.get("probe_throughput", {})
    if "blackbox_cpu_s_per_1k" in pt:
        ok = pt["auditor_cpu_s_per_1k"] <= pt["blackbox_cpu_s_per_1k"]
        out.append({"metric": "probe_throughput.cpu_per_1k", "goal": "<= blackbox",
                    "value": pt["auditor_cpu_s_per_1k"], "met": ok})  # fmt: skip
    mn = results.get("multi_node", {})
    if mn.get("takeover_s") is not None:
        out.append({"metric": "multi_node.takeover_s", "goal": f"<= {mn['lease_s']}",
                    "value": mn["takeover_s"], "met": mn["takeover_s"] <= mn["lease_s"]})  # fmt: skip
    return out


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'metric':<44} value")
    print("-" * 72)
    for phase in ("probe_throughput", "scheduler", "multi_node", "scale", "read_paths", "storage"):
        for key, value in results.get(phase, {}).items():
            if key in ("store", "wrk", "db_mb_by_day", "rows") and isinstance(value, dict | list):
                if key == "db_mb_by_day":
                    value = f"{value[:1]}..{value[-1:]} ({len(value)} days)"
                else:
                    value = json.dumps(value)[:120]
            print(f"{phase + '.' + key:<44} {value}")
    print("-" * 72)
    for g in results.get("goals", []):
        verdict = "met" if g["met"] else "MISSED"
        print(f"{g['metric']:<44} {g['goal']:<10} {g['value']!s:<10} {verdict}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-worker":
        child_worker(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--child-web":
        child_web(sys.argv[2], int(sys.argv[3]))
        return 0
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small, fast versions of every phase")
    ap.add_argument("--only", default=",".join(PHASES), help=f"comma-separated subset of {PHASES}")
    ap.add_argument("--scheduler-seconds", type=float, default=300.0)
    ap.add_argument("--scale-sizes", default="1000,10000,50000",
                    help="scale phase: fleet sizes (checks), comma-separated")  # fmt: skip
    ap.add_argument("--scale-rate", type=float, default=200.0,
                    help="scale phase: probes per second at every size (interval = size / rate)")  # fmt: skip
    ap.add_argument("--scale-seconds", type=float, default=120.0,
                    help="scale phase: measured window per size")  # fmt: skip
    ap.add_argument("--read-runs", type=int, default=5_000_000)
    ap.add_argument("--storage-days", type=int, default=90)
    ap.add_argument(
        "--storage-interval", type=int, default=60, help="seconds between runs of one check"
    )
    ap.add_argument("--output", default=str(RESULTS))
    ap.add_argument(
        "--keep-db",
        action="store_true",
        help="read paths: seed database bench_read_keep once, keep it and reuse it on the next"
        " --keep-db run (its check states age: for iterating, not for the published figures)",
    )
    args = ap.parse_args()
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    bad = set(only) - set(PHASES)
    if bad:
        ap.error(f"unknown phase(s) {sorted(bad)}")
    results: dict[str, Any] = {}
    out_path = Path(args.output)
    if out_path.exists():  # keep other phases' figures when re-running a subset
        try:
            results = json.loads(out_path.read_text())
        except ValueError:
            results = {}
    results["machine"] = machine()
    results["commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                       text=True).stdout.strip()  # fmt: skip
    results["command"] = "make bench  # .venv/bin/python benchmarks/run.py " + " ".join(
        sys.argv[1:]
    )
    results["quick"] = args.quick
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        work = Path(tmp)
        nginx: Nginx | None = None
        ips = [f"127.0.1.{i}" for i in range(1, 101)]
        ports = [free_port() for _ in range(20)]
        try:
            if set(only) & {"probe", "scheduler", "multi_node", "scale"}:
                nginx = Nginx(work, ips, ports)
                nginx.start()
                log(f"nginx: {len(nginx.urls())} HTTPS origins")
            names = {"probe": "probe_throughput"}
            phases = {
                "probe": phase_probe,
                "scheduler": phase_scheduler,
                "multi_node": phase_multi_node,
                "scale": phase_scale,
                "read_paths": phase_read_paths,
                "storage": phase_storage,
            }
            for phase in only:
                log(f"phase {phase}")
                t = time.perf_counter()
                try:
                    results[names.get(phase, phase)] = phases[phase](args, nginx, work)  # type: ignore[operator,arg-type]
                except Exception as exc:
                    traceback.print_exc()
                    results[names.get(phase, phase)] = {"error": f"{type(exc).__name__}: {exc}"}
                results[names.get(phase, phase)]["phase_s"] = round(time.perf_counter() - t, 1)
                out_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        finally:
            if nginx is not None:
                nginx.stop()
            if set(only) & {"scheduler", "multi_node", "read_paths"}:
                try:
                    pg_drop()
                    pg_drop("bench_read")
                except Exception as exc:
                    log(f"could not drop database bench: {exc}")
    results["total_s"] = round(time.perf_counter() - t_all, 1)
    results["goals"] = goals(results)
    out_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
