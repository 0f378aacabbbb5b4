"""Load test (issue 8, part 5): N checks running while C concurrent API/dashboard clients
hammer the daemon for D seconds; prints request count, 5xx count and latency percentiles.

    .venv/bin/python benchmarks/load_test.py [--checks 2000] [--clients 100] [--seconds 60]

Everything is local: a threaded target server on 127.0.0.1 answers the checks, the daemon
(``auditor serve`` on SQLite) runs as a subprocess, clients are asyncio httpx tasks.
Not a CI test: the figures go into the README.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.hardening.daemon import rss_bytes, start, wait_for, write_config
from tests.support import json_route, local_server

PATHS = [
    ("api", "/api/v1/services?limit=20"),
    ("api", "/api/v1/transitions?limit=50"),
    ("api", "/api/v1/openapi.json"),
    ("dashboard", "/login"),
    ("dashboard", "/"),
    ("health", "/healthz"),
    ("health", "/readyz"),
]


def free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def client(
    base: str, token: str, until: float, lat: dict[str, list[float]], codes: dict[int, int], i: int
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        n = i
        while time.monotonic() < until:
            group, path = PATHS[n % len(PATHS)]
            n += 1
            t0 = time.perf_counter()
            try:
                r = await http.get(path)
                code = r.status_code
            except httpx.HTTPError:
                code = 599
            lat[group].append((time.perf_counter() - t0) * 1000)
            codes[code] = codes.get(code, 0) + 1


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checks", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--interval", default="30s")
    ap.add_argument(
        "--split",
        action="store_true",
        help="run `auditor worker` + `auditor web` instead of `serve`",
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="auditor-load-"))
    db = tmp / "auditor.db"
    port = free_port()
    with local_server({"/health": json_route(200, {"status": "ok"}, delay=0.02)}) as target:
        services = [
            {
                "name": f"svc{i:04d}",
                "url": target,
                "checks": [{"kind": "health", "interval": args.interval, "timeout": "5s"}],
            }
            for i in range(args.checks)
        ]
        config = write_config(
            tmp / "config.toml",
            {
                "database_url": f"sqlite:///{db}",
                "listen": f"127.0.0.1:{port}",
                "log_level": "warning",
                "concurrency": 200,
                "anonymous_read": True,
            },
            services,
        )
        from auditor.auth import create_token
        from auditor.config import load_config
        from auditor.store import Store

        store = Store(f"sqlite:///{db}")
        store.sync_config(load_config(config, environ={}))
        # one token per client: the API's rate limit is per token (a 429 is not load)
        tokens = [
            create_token(store, name=f"load{i}", role="viewer")[1] for i in range(args.clients)
        ]
        store.close()
        # --split: the scale-out shape (one `auditor worker` + one `auditor web` process)
        procs = (
            [
                start("worker", config, log=tmp / "worker.log"),
                start("web", config, log=tmp / "web.log"),
            ]
            if args.split
            else [start("serve", config, log=tmp / "daemon.log")]
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if not wait_for(lambda: httpx.get(base + "/healthz").status_code == 200, 60):
                print("daemon did not start", file=sys.stderr)
                return 2
            time.sleep(5)  # let the first wave of checks start
            rss0 = sum(rss_bytes(p.pid) for p in procs)
            lat: dict[str, list[float]] = {"api": [], "dashboard": [], "health": []}
            codes: dict[int, int] = {}
            until = time.monotonic() + args.seconds

            async def run_all() -> None:
                await asyncio.gather(
                    *(client(base, tokens[i], until, lat, codes, i) for i in range(args.clients))
                )

            t0 = time.monotonic()
            asyncio.run(run_all())
            took = time.monotonic() - t0
            rss1 = sum(rss_bytes(p.pid) for p in procs)
            import sqlite3

            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            runs = conn.execute("SELECT COUNT(*) FROM run").fetchone()[0]
            conn.close()
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()

    every = [v for vs in lat.values() for v in vs]
    errors5xx = sum(n for c, n in codes.items() if c >= 500)
    print(f"mode={'worker+web' if args.split else 'serve'} checks={args.checks} interval={args.interval} clients={args.clients} "
          f"duration={took:.0f}s cpus={os.cpu_count()}")  # fmt: skip
    print(f"requests={len(every)} rps={len(every) / took:.0f} status={dict(sorted(codes.items()))}")
    print(f"5xx={errors5xx}")
    for group, values in [("all", every), *lat.items()]:
        if values:
            print(
                f"{group:9s} n={len(values):6d} p50={pct(values, 50):6.1f}ms "
                f"p95={pct(values, 95):6.1f}ms p99={pct(values, 99):6.1f}ms "
                f"mean={statistics.fmean(values):6.1f}ms"
            )
    print(f"runs stored during the test: {runs}; daemon RSS {rss0 >> 20} -> {rss1 >> 20} MB")
    ok = errors5xx == 0 and pct(every, 99) <= 300
    print("RESULT:", "PASS" if ok else "FAIL (target: zero 5xx, p99 <= 300 ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
