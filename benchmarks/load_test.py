"""Load test (issue 8, part 5): N checks running while C concurrent API/dashboard clients
hammer the daemon for D seconds; prints request count, 5xx count and latency percentiles.

    .venv/bin/python benchmarks/load_test.py [--checks 2000] [--clients 100] [--seconds 60]
        [--split] [--web-processes N] [--generator wrk|httpx] [--think S]

Everything is local: a threaded target server on 127.0.0.1 answers the checks, the daemon
(``auditor serve``, or ``auditor worker`` + ``auditor web`` with ``--split``, on SQLite) runs
as subprocesses. Clients are closed-loop (each sends its next request when the previous
answer arrives, no think time: the harshest model): by default Debian's ``wrk`` with one
connection per client (C, so the generator takes little of the machine's CPU); ``--generator
httpx`` runs them as asyncio httpx tasks in this process instead, and ``--think S`` (httpx
only) adds a pause between a client's requests. Not a CI test: the figures go into the README.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.config.sync import sync_config
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
    base: str,
    token: str,
    until: float,
    lat: dict[str, list[float]],
    codes: dict[int, int],
    i: int,
    think: float = 0.0,
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
            if think:
                await asyncio.sleep(think)


#: wrk script: every request takes the next path of PATHS and the next client's token;
#: statuses are counted per thread and printed as one JSON line with the percentiles
WRK_LUA = """
local paths = {%(paths)s}
local tokens = {%(tokens)s}
local n = 0
statuses = {}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = math.random(1, #paths * #tokens) end
function request()
  n = n + 1
  local path = paths[(n %% #paths) + 1]
  local token = tokens[(n %% #tokens) + 1]
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local out = {}
  for _, t in ipairs(threads) do
    local st = t:get("statuses")
    for code, count in pairs(st) do out[code] = (out[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(out) do table.insert(parts, string.format('"%%d": %%d', code, count)) end
  io.write(string.format(
    'WRK {"requests": %%d, "seconds": %%f, "p50": %%f, "p90": %%f, "p99": %%f, "max": %%f, '
    .. '"mean": %%f, "errors": {"connect": %%d, "read": %%d, "write": %%d, "timeout": %%d, '
    .. '"status": %%d}, "statuses": {%%s}}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    latency.mean / 1e3, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status, table.concat(parts, ", ")))
end
"""


def run_wrk(base: str, tokens: list[str], clients: int, seconds: float, tmp: Path) -> dict:
    """Closed-loop clients with Debian's wrk: one connection per client, 2 threads."""
    script = tmp / "load.lua"
    script.write_text(
        WRK_LUA
        % {
            "paths": ", ".join(json.dumps(p) for _, p in PATHS),
            "tokens": ", ".join(json.dumps(t) for t in tokens),
        }
    )
    cmd = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{int(seconds)}s", "--timeout", "30s",
           "-s", str(script), base]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    out = done.stdout + done.stderr
    m = re.search(r"^WRK (\{.*\})$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk gave no summary:\n{out}")
    result: dict = json.loads(m.group(1))
    return result


def tree(pid: int) -> list[int]:
    """A process and its live descendants (the web processes: in ``serve`` gunicorn's
    workers are children of its master, which runs beside the scheduler)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    pids, i = [pid], 0
    while i < len(pids):
        pids += parents.get(pids[i], [])
        i += 1
    return pids


def tree_cpu_s(pid: int) -> float:
    """utime+stime of a process and its live descendants."""
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def tree_rss(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            total += rss_bytes(p)
        except (OSError, RuntimeError):
            continue
    return total


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
    ap.add_argument(
        "--web-processes",
        type=int,
        default=None,
        help="[auditor] web_processes for the daemon (default: its own default)",
    )
    ap.add_argument(
        "--generator",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator (default: wrk when installed)",
    )
    ap.add_argument(
        "--think", type=float, default=0.0, help="seconds between a client's requests (httpx)"
    )
    args = ap.parse_args()
    if args.think and args.generator != "httpx":
        ap.error("--think needs --generator httpx (wrk clients are closed-loop without pauses)")

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
                **({} if args.web_processes is None else {"web_processes": args.web_processes}),
            },
            services,
        )
        from auditor.config import load_config
        from auditor.store.accounts import create_token
        from auditor.store.db import Database

        store = Database(f"sqlite:///{db}")
        sync_config(store, load_config(config, environ={}))
        # one token per client: the API's rate limit is per token (a 429 is not load)
        tokens = [
            create_token(store, name=f"load{i}", role="viewer")[1] for i in range(args.clients)
        ]
        store.close()
        # --split: the scale-out shape (one `auditor worker` + one `auditor web` process)
        roles = ["worker", "web"] if args.split else ["serve"]
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
            print("daemon pids:", {r: tree(p.pid) for r, p in zip(roles, procs, strict=True)})
            time.sleep(5)  # let the first wave of checks start
            rss0 = sum(tree_rss(p.pid) for p in procs)
            cpu0 = {p.pid: tree_cpu_s(p.pid) for p in procs}
            lat: dict[str, list[float]] = {"api": [], "dashboard": [], "health": []}
            codes: dict[int, int] = {}
            wrk: dict | None = None
            until = time.monotonic() + args.seconds

            async def run_all() -> None:
                await asyncio.gather(
                    *(
                        client(base, tokens[i], until, lat, codes, i, args.think)
                        for i in range(args.clients)
                    )
                )

            t0 = time.monotonic()
            if args.generator == "wrk":
                wrk = run_wrk(base, tokens, args.clients, args.seconds, tmp)
            else:
                asyncio.run(run_all())
            took = time.monotonic() - t0
            cpu = {p.pid: tree_cpu_s(p.pid) - cpu0[p.pid] for p in procs}
            rss1 = sum(tree_rss(p.pid) for p in procs)
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

    mode = "worker+web" if args.split else "serve"
    cpu_txt = ", ".join(f"{name} {c:.0f} s" for name, c in zip(roles, cpu.values(), strict=True))
    print(f"mode={mode} web_processes={args.web_processes or 'default'} checks={args.checks} "
          f"interval={args.interval} clients={args.clients} generator={args.generator} "
          f"think={args.think}s duration={took:.0f}s cpus={os.cpu_count()}")  # fmt: skip
    print(f"server CPU during the test: {cpu_txt}")
    if wrk is not None:
        statuses = {int(k): v for k, v in wrk["statuses"].items()}
        errors5xx = sum(n for c, n in statuses.items() if c >= 500)
        print(f"requests={wrk['requests']} rps={wrk['requests'] / wrk['seconds']:.0f} "
              f"status={dict(sorted(statuses.items()))} socket errors={wrk['errors']}")  # fmt: skip
        print(f"5xx={errors5xx}")
        print(f"all       p50={wrk['p50']:6.1f}ms p90={wrk['p90']:6.1f}ms "
              f"p99={wrk['p99']:6.1f}ms max={wrk['max']:6.1f}ms mean={wrk['mean']:6.1f}ms")  # fmt: skip
        p99 = float(wrk["p99"])
        errors5xx += sum(wrk["errors"][k] for k in ("connect", "read", "write", "timeout"))
    else:
        every = [v for vs in lat.values() for v in vs]
        errors5xx = sum(n for c, n in codes.items() if c >= 500)
        print(
            f"requests={len(every)} rps={len(every) / took:.0f} status={dict(sorted(codes.items()))}"
        )
        print(f"5xx={errors5xx}")
        for group, values in [("all", every), *lat.items()]:
            if values:
                print(
                    f"{group:9s} n={len(values):6d} p50={pct(values, 50):6.1f}ms "
                    f"p95={pct(values, 95):6.1f}ms p99={pct(values, 99):6.1f}ms "
                    f"mean={statistics.fmean(values):6.1f}ms"
                )
        p99 = pct(every, 99)
    print(f"runs stored during the test: {runs}; daemon RSS {rss0 >> 20} -> {rss1 >> 20} MB")
    ok = errors5xx == 0 and p99 <= 300
    print("RESULT:", "PASS" if ok else "FAIL (target: zero 5xx, p99 <= 300 ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
