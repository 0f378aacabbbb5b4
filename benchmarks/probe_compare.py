"""Probe cost, ours against blackbox_exporter, each driven the way it runs in production.

The same work on both sides: for every one of N HTTPS origins on one nginx, a fresh TCP + TLS
handshake, the certificate verified against the same CA, one ``GET /health``, status 200 and
the body's ``"status":"pass"`` checked.

Rows (one run, one table):

* **curl CLI** — Debian's ``curl`` (libcurl + OpenSSL, C, no Python) fetching every target
  three times, 100 in parallel, fresh connections: the floor of any libcurl-based engine (it
  checks and stores nothing); again one after another at the production rows' rate
  (``--rate``, targets / interval per second, each target once).
* **blackbox via wrk** — ``wrk`` (C, Lua script cycling through the targets, 100 connections)
  asks blackbox_exporter's ``/probe`` as fast as it answers: its ceiling.
* **blackbox via Prometheus** — a real Prometheus scrapes blackbox for every target at
  ``--interval``: how people run it.
* **auditor worker** — ``auditor worker`` with the same targets as config-file checks at the
  same interval, storing every result in SQLite: how we run.
* **auditor audit** — one ``auditor audit`` pass over every target (process start, config
  load, probes, storage, JSON output): our ceiling, end to end.

Placement: the prober under test (blackbox or auditor) alone on ``--probe-cpus``; nginx and
the drivers (wrk, Prometheus) on ``--other-cpus``. CPU is read from ``/proc`` for every process
(and its threads/children); the driver's and the target's CPU are reported separately, never
counted for the prober. Latency: wrk's request latency for blackbox via wrk, Prometheus'
``scrape_duration_seconds`` for blackbox via Prometheus, stored ``duration_ms`` for ours.

Our rows run once per probe engine (``--engines curl,httpx``: ``[auditor] probe_engine``),
from this source tree; ``--worker-processes N|auto`` sets ``[auditor] worker_processes``.

    .venv/bin/python benchmarks/probe_compare.py [--targets 2000] [--interval 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.targets import Blackbox, Nginx, binary, free_port, proc_cpu_s  # noqa: E402

BODY_REGEX = '"status":"pass"'

WRK_LUA = r"""
local targets = {}
for line in io.lines(os.getenv("BENCH_TARGETS")) do targets[#targets + 1] = line end
local threads = {}
local next_offset = 0
function setup(thread)
  thread:set("offset", next_offset)
  next_offset = next_offset + math.floor(#targets / 2)
  table.insert(threads, thread)
end
function init(args) i = offset or 0; ok = 0; bad = 0 end
function request()
  i = i % #targets + 1
  return wrk.format("GET", "/probe?module=http_2xx&target=" .. targets[i])
end
function response(status, headers, body)
  if string.find(body, "\nprobe_success 1", 1, true) then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"p50_us":%d,"p99_us":%d,'
    .. '"errors":%d}\n', summary.requests, summary.duration, o, b, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pin(pid: int, cpus: str) -> None:
    """Pin a running process, every thread of it, and its children to ``cpus``."""
    pids = [pid]
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    pids += [int(p) for p in out.stdout.split()]
    for p in pids:
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(p)], capture_output=True)


def rss_peak_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def blackbox_config(bb: Blackbox) -> None:
    """The same judgement as our check: status 200 and the body's status."""
    conf = bb.workdir / "blackbox.yml"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(f"""
modules:
  http_2xx:
    prober: http
    timeout: 9s
    http:
      method: GET
      valid_status_codes: [200]
      preferred_ip_protocol: ip4
      fail_if_not_ssl: true
      fail_if_body_not_matches_regexp: ['{BODY_REGEX}']
      tls_config:
        ca_file: {bb.ca}
        insecure_skip_verify: false
""")


def start_blackbox(work: Path, ca: Path, cpus: str) -> Blackbox:
    bb = Blackbox(work, ca)
    blackbox_config(bb)
    conf = bb.workdir / "blackbox.yml"
    bb.proc = subprocess.Popen(
        ["taskset", "-c", cpus, binary("prometheus-blackbox-exporter"),
         f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{bb.port}",
         "--log.level=error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    from benchmarks.targets import _wait_port

    _wait_port("127.0.0.1", bb.port, bb.proc)
    return bb


def run_wrk(
    bb: Blackbox, targets: list[str], seconds: float, cpus: str, work: Path
) -> dict[str, Any]:
    """blackbox at its ceiling: wrk keeps 100 probes in flight for ``seconds``."""
    tfile, lua = work / "targets.txt", work / "cycle.lua"
    tfile.write_text("\n".join(urllib.parse.quote(t + "/health", safe="") for t in targets) + "\n")
    lua.write_text(WRK_LUA)
    assert bb.proc is not None
    # warm-up: a short burst, not measured
    subprocess.run(["taskset", "-c", cpus, "wrk", "-t2", "-c20", "-d2s", "-s", str(lua),
                    f"http://127.0.0.1:{bb.port}"], capture_output=True,
                   env={**os.environ, "BENCH_TARGETS": str(tfile)})  # fmt: skip
    c0 = proc_cpu_s(bb.proc.pid, children=False)
    proc = subprocess.Popen(
        ["taskset", "-c", cpus, "wrk", "-t2", "-c100", f"-d{int(seconds)}s", "--timeout", "10s",
         "-s", str(lua), f"http://127.0.0.1:{bb.port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "BENCH_TARGETS": str(tfile)},
    )  # fmt: skip
    _pid, _status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    cpu = proc_cpu_s(bb.proc.pid, children=False) - c0
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out[-800:]}")
    r = json.loads(line[len("RESULT ") :])
    wall = r["duration_us"] / 1e6
    return {
        "probes": r["requests"],
        "ok": r["ok"],
        "failed": r["bad"] + r["errors"],
        "probes_per_s": round(r["requests"] / wall, 1),
        "cpu_s_per_1k": round(cpu / max(1, r["requests"]) * 1000, 2),
        "p50_ms": round(r["p50_us"] / 1000, 1),
        "p99_ms": round(r["p99_us"] / 1000, 1),
        "rss_mb": rss_peak_mb(bb.proc.pid),
        "driver_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "wall_s": round(wall, 1),
    }


def run_curl_cli(
    targets: list[str], ca: Path, cpus: str, work: Path, rounds: int = 3, rate: int = 0
) -> dict[str, Any]:
    """The C floor of a libcurl engine: Debian's ``curl`` (libcurl + OpenSSL, no Python)
    fetching every target ``rounds`` times, each a fresh connection and a full handshake
    verified against the same CA; 100 in parallel, or one after another at ``rate`` per
    second (``--rate``: the production rows' pace). It checks neither status nor body and
    stores nothing: less work than either prober, so no libcurl engine can cost less."""
    cfg = work / f"curl-cli-{rate}.cfg"
    cfg.write_text("".join(f'url = "{t}/health"\noutput = "/dev/null"\n' for t in targets * rounds))
    pace = ["--rate", f"{rate}/s"] if rate else ["--parallel", "--parallel-max", "100"]
    cmd = ["taskset", "-c", cpus, "curl", "--silent", *pace,
           "--cacert", str(ca), "--no-sessionid", "--header", "Connection: close",
           "--write-out", "%{http_code}\\n", "--config", str(cfg)]  # fmt: skip
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    with proc.stdout or contextlib.nullcontext(""):
        out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU and peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"curl exited with {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    codes = out.split()
    n = len(codes)
    return {
        "probes": n,
        "ok": codes.count("200"),
        "failed": n - codes.count("200"),
        "probes_per_s": round(n / wall, 1),
        "cpu_s_per_1k": round(cpu / max(1, n) * 1000, 2),
        "p50_ms": None,
        "p99_ms": None,
        "rss_mb": round(usage.ru_maxrss / 1024, 1),
        "driver_cpu_s": None,
        "wall_s": round(wall, 1),
        "rate": rate or None,
    }


def prom_query(port: int, query: str, at: float) -> list[dict[str, Any]]:
    q = urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{q}", timeout=60) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise RuntimeError(f"prometheus query failed: {body}")
    return list(body["data"]["result"])


def run_prometheus(
    bb: Blackbox, targets: list[str], interval: int, seconds: float, cpus: str, work: Path
) -> dict[str, Any]:
    """blackbox as people run it: Prometheus scrapes /probe for every target each interval."""
    pdir = work / "prometheus-server"
    pdir.mkdir()
    port = free_port()
    lines = "\n".join(f"          - '{t}/health'" for t in targets)
    (pdir / "prometheus.yml").write_text(f"""
global:
  scrape_interval: {interval}s
  scrape_timeout: {min(interval, 9)}s
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    static_configs:
      - targets:
{lines}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:{bb.port}
""")
    proc = subprocess.Popen(
        ["taskset", "-c", cpus, binary("prometheus"), f"--config.file={pdir / 'prometheus.yml'}",
         f"--storage.tsdb.path={pdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    assert bb.proc is not None
    try:
        from benchmarks.targets import _wait_port

        _wait_port("127.0.0.1", port, proc, timeout=60)
        time.sleep(2 * interval)  # every target's first scrape is spread over one interval
        c0, p0, t0 = proc_cpu_s(bb.proc.pid, children=False), proc_cpu_s(proc.pid), time.time()
        time.sleep(seconds)
        c1, p1, t1 = proc_cpu_s(bb.proc.pid, children=False), proc_cpu_s(proc.pid), time.time()
        time.sleep(interval)  # let the window's last scrapes land before reading them
        window = f"{int(t1 - t0)}s"
        scrapes = prom_query(port, f'sum(count_over_time(up{{job="blackbox"}}[{window}]))', t1)
        good = prom_query(
            port, f'sum(sum_over_time(probe_success{{job="blackbox"}}[{window}]))', t1
        )
        durs = prom_query(port, f'scrape_duration_seconds{{job="blackbox"}}[{window}]', t1)
        n = int(float(scrapes[0]["value"][1])) if scrapes else 0
        ok = int(float(good[0]["value"][1])) if good else 0
        lat = [float(v[1]) * 1000 for s in durs for v in s["values"]]
        return {
            "probes": n,
            "ok": ok,
            "failed": n - ok,
            "expected": int(len(targets) * (t1 - t0) / interval),
            "probes_per_s": round(n / (t1 - t0), 1),
            "cpu_s_per_1k": round((c1 - c0) / max(1, n) * 1000, 2),
            "p50_ms": round(pct(lat, 50) or 0, 1),
            "p99_ms": round(pct(lat, 99) or 0, 1),
            "rss_mb": rss_peak_mb(bb.proc.pid),
            "driver_cpu_s": round(p1 - p0, 2),
            "wall_s": round(t1 - t0, 1),
        }
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def auditor_config(
    path: Path,
    db: Path,
    targets: list[str],
    ca: Path,
    interval: int,
    concurrency: int,
    engine: str = "curl",
    processes: str = "1",
) -> None:
    parts = [
        "[auditor]",
        f'database_url = "sqlite:///{db}"',
        f"concurrency = {concurrency}",
        f'probe_engine = "{engine}"',
        f"worker_processes = {processes if processes.isdigit() else repr(processes)}",
        'log_level = "warning"',
        'listen = "127.0.0.1:0"',
        "",
    ]
    for i, url in enumerate(targets):
        parts += [
            "[[services]]",
            f'name = "t{i:05d}"',
            f'url = "{url}"',
            "[[services.checks]]",
            'kind = "health"',
            'path = "/health"',
            f'interval = "{interval}s"',
            f'timeout = "{min(9, interval)}s"',
            f'ca_file = "{ca}"',
            "conditions = ['[BODY].status == pass']",
            "",
        ]
    path.write_text("\n".join(parts))


def stored_runs(db: Path, since_iso: str, until_iso: str) -> tuple[int, int, list[float]]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT status, duration_ms FROM run WHERE started_at >= ? AND started_at < ?",
            (since_iso, until_iso),
        ).fetchall()
    finally:
        con.close()
    ok = sum(1 for s, _ in rows if s == "pass")
    return len(rows), ok, [float(d) for _, d in rows]


def iso(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(sep=" ")


#: ours runs from this tree (not whatever ``auditor`` script a venv has installed)
AUDITOR = [sys.executable, "-m", "auditor"]
AUDITOR_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run_worker(
    targets: list[str],
    ca: Path,
    interval: int,
    seconds: float,
    cpus: str,
    work: Path,
    concurrency: int,
    engine: str = "curl",
    processes: str = "1",
) -> dict[str, Any]:
    """Ours as it runs in production: ``auditor worker`` with the targets as config checks."""
    wdir = work / f"worker-{engine}-{processes}"
    wdir.mkdir()
    cfg, db = wdir / "config.toml", wdir / "auditor.db"
    auditor_config(cfg, db, targets, ca, interval, concurrency, engine, processes)
    proc = subprocess.Popen(
        ["taskset", "-c", cpus, *AUDITOR, "worker", "--config", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env=AUDITOR_ENV,
    )  # fmt: skip
    try:
        # start-up (imports, config sync) and the first interval, when every check falls due
        # at once, are not steady state
        deadline = time.time() + 120
        while time.time() < deadline:
            time.sleep(1)
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited: {proc.stderr.read().decode()[-1500:]}")  # type: ignore[union-attr]
            with contextlib.suppress(sqlite3.Error):
                con = sqlite3.connect(db)
                n = con.execute("SELECT count(*) FROM run").fetchone()[0]
                con.close()
                if n >= len(targets):
                    break
        time.sleep(interval)
        c0, t0 = proc_cpu_s(proc.pid), time.time()
        time.sleep(seconds)
        c1, t1 = proc_cpu_s(proc.pid), time.time()
        rss = rss_peak_mb(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=40)
    n, ok, lat = stored_runs(db, iso(t0), iso(t1))
    return {
        "probes": n,
        "ok": ok,
        "failed": n - ok,
        "expected": int(len(targets) * (t1 - t0) / interval),
        "probes_per_s": round(n / (t1 - t0), 1),
        "cpu_s_per_1k": round((c1 - c0) / max(1, n) * 1000, 2),
        "p50_ms": round(pct(lat, 50) or 0, 1),
        "p99_ms": round(pct(lat, 99) or 0, 1),
        "rss_mb": rss,
        "driver_cpu_s": None,
        "wall_s": round(t1 - t0, 1),
    }


def run_audit(
    targets: list[str], ca: Path, cpus: str, work: Path, concurrency: int, engine: str = "curl"
) -> dict[str, Any]:
    """Our ceiling end to end: one ``auditor audit`` over every target."""
    adir = work / f"audit-{engine}"
    adir.mkdir()
    cfg, db = adir / "config.toml", adir / "auditor.db"
    auditor_config(cfg, db, targets, ca, 60, concurrency, engine)
    out_file, err_file = adir / "out.json", adir / "err.txt"
    t0 = time.perf_counter()
    with out_file.open("wb") as out, err_file.open("wb") as err:
        proc = subprocess.Popen(
            ["taskset", "-c", cpus, *AUDITOR, "audit", "--config", str(cfg), "--format", "json"],
            stdout=out, stderr=err, env=AUDITOR_ENV,
        )  # fmt: skip
        _pid, _status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    cpu = usage.ru_utime + usage.ru_stime
    con = sqlite3.connect(db)
    rows = con.execute("SELECT status, duration_ms FROM run").fetchall()
    con.close()
    ok = sum(1 for s, _ in rows if s == "pass")
    lat = [float(d) for _, d in rows]
    return {
        "probes": len(rows),
        "ok": ok,
        "failed": len(rows) - ok,
        "probes_per_s": round(len(rows) / wall, 1),
        "cpu_s_per_1k": round(cpu / max(1, len(rows)) * 1000, 2),
        "p50_ms": round(pct(lat, 50) or 0, 1),
        "p99_ms": round(pct(lat, 99) or 0, 1),
        "rss_mb": round(usage.ru_maxrss / 1024, 1),
        "driver_cpu_s": None,
        "wall_s": round(wall, 1),
        "stderr_tail": err_file.read_text()[-300:] if len(rows) < len(targets) else "",
    }


def print_table(res: dict[str, Any]) -> None:
    engines = res.get("engines", ["curl"])
    paced = res.get("curl_cli_paced") or {}
    rows = [("curl CLI, C floor (no checks/storage)", res.get("curl_cli"))]
    rows += [(f"curl CLI, serial at {paced.get('rate')}/s", res.get("curl_cli_paced"))]
    rows += [("blackbox via wrk (ceiling)", res.get("blackbox_wrk"))]
    rows += [(f"auditor audit [{e}] (ceiling)", res.get(f"auditor_audit_{e}")) for e in engines]
    rows += [(f"blackbox via Prometheus @{res['interval']}s", res.get("blackbox_prometheus"))]
    rows += [
        (f"auditor worker [{e}] @{res['interval']}s", res.get(f"auditor_worker_{e}"))
        for e in engines
    ]
    head = f"{'':34} {'probes/s':>9} {'CPU-s/1k':>9} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>7} {'ok/all':>13} {'driver CPU-s':>12}"
    print(head)
    for name, r in rows:
        if not r or "error" in r:
            print(f"{name:34} {(r or {}).get('error', 'not run')}")
            continue
        print(
            f"{name:34} {r['probes_per_s']:>9} {r['cpu_s_per_1k']:>9} {r['p50_ms'] or '-':>8} {r['p99_ms'] or '-':>8}"
            f" {r['rss_mb'] if r['rss_mb'] is not None else '-':>7} {str(r['ok']) + '/' + str(r['probes']):>13}"
            f" {r['driver_cpu_s'] if r['driver_cpu_s'] is not None else '-':>12}"
        )
    pairs = [
        (f"{label} [{e}]", f"{ours}_{e}", theirs)
        for e in engines
        for label, ours, theirs in (
            ("ceiling", "auditor_audit", "blackbox_wrk"),
            ("production", "auditor_worker", "blackbox_prometheus"),
        )
    ]
    for label, ours, theirs in pairs:
        a, b = res.get(ours) or {}, res.get(theirs) or {}
        if "probes_per_s" in a and "probes_per_s" in b and b["probes_per_s"] and b["cpu_s_per_1k"]:
            print(
                f"ratio ({label}): ours/theirs probes/s {a['probes_per_s'] / b['probes_per_s']:.2f}x,"
                f" CPU per probe {a['cpu_s_per_1k'] / b['cpu_s_per_1k']:.2f}x"
            )


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--targets", type=int, default=2000)
    ap.add_argument(
        "--interval",
        type=int,
        default=10,
        help="seconds between probes of a target (production rows)",
    )
    ap.add_argument("--seconds", type=float, default=30, help="measured window of each row")
    ap.add_argument("--concurrency", type=int, default=100,
                    help="our [auditor] concurrency (wrk keeps 100 blackbox probes in flight;"
                    " Prometheus has no cap)")  # fmt: skip
    ap.add_argument("--probe-cpus", default="1", help="CPUs for the prober under test")
    ap.add_argument("--other-cpus", default="0", help="CPUs for nginx and the drivers")
    ap.add_argument("--only", default="curl_cli,wrk,audit,prometheus,worker")
    ap.add_argument(
        "--engines",
        default="curl,httpx",
        help="our probe engines to measure ([auditor] probe_engine), comma-separated",
    )
    ap.add_argument("--worker-processes", default="1",
                    help='our [auditor] worker_processes for the worker row ("auto" = one per CPU'
                    " of --probe-cpus)")  # fmt: skip
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "probe_compare.json"))
    args = ap.parse_args()
    only = set(args.only.split(","))
    res: dict[str, Any] = {
        "targets": args.targets,
        "interval": args.interval,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "probe_cpus": args.probe_cpus,
        "other_cpus": args.other_cpus,
        "engines": args.engines.split(","),
        "worker_processes": args.worker_processes,
        "loadavg_at_start": os.getloadavg(),
        "command": "python benchmarks/probe_compare.py " + " ".join(sys.argv[1:]),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }
    with tempfile.TemporaryDirectory(prefix="probe-compare-") as tmp:
        work = Path(tmp)
        ports: list[int] = []
        while len(ports) < 20:  # a closed probe socket's port can be handed out twice
            if (port := free_port()) not in ports:
                ports.append(port)
        ips = [f"127.0.1.{i}" for i in range(1, (args.targets + 19) // 20 + 1)]
        nginx = Nginx(work, ips, ports)
        nginx.start()
        assert nginx.proc is not None
        pin(nginx.proc.pid, args.other_cpus)
        targets = nginx.urls()[: args.targets]
        n0 = proc_cpu_s(nginx.proc.pid)
        try:
            steps = [("curl_cli", "curl_cli", ""), ("curl_cli", "curl_cli_paced", "")]
            steps += [("wrk", "blackbox_wrk", "")]
            steps += [("audit", f"auditor_audit_{e}", e) for e in res["engines"]]
            steps += [("prometheus", "blackbox_prometheus", "")]
            steps += [("worker", f"auditor_worker_{e}", e) for e in res["engines"]]
            for step, key, engine in steps:
                if step not in only:
                    continue
                log(f"{key} …")
                t = proc_cpu_s(nginx.proc.pid)
                try:
                    if step == "curl_cli":
                        paced = key.endswith("paced")
                        res[key] = run_curl_cli(
                            targets, nginx.ca, args.probe_cpus, work, rounds=1 if paced else 3,
                            rate=max(1, len(targets) // args.interval) if paced else 0,
                        )  # fmt: skip
                    elif step in ("wrk", "prometheus"):
                        bb = start_blackbox(work / step, nginx.ca, args.probe_cpus)
                        try:
                            if step == "wrk":
                                res[key] = run_wrk(bb, targets, args.seconds, args.other_cpus, work)
                            else:
                                res[key] = run_prometheus(bb, targets, args.interval, args.seconds,
                                                          args.other_cpus, work)  # fmt: skip
                        finally:
                            bb.stop()
                    elif step == "audit":
                        res[key] = run_audit(
                            targets, nginx.ca, args.probe_cpus, work, args.concurrency, engine
                        )
                    else:
                        res[key] = run_worker(targets, nginx.ca, args.interval, args.seconds,
                                              args.probe_cpus, work, args.concurrency, engine,
                                              args.worker_processes)  # fmt: skip
                except Exception as exc:  # one failed row must not lose the others
                    res[key] = {"error": f"{type(exc).__name__}: {exc}"}
                res[key]["target_cpu_s"] = round(proc_cpu_s(nginx.proc.pid) - t, 2)
                log(f"{key}: {res[key]}")
        finally:
            res["nginx_cpu_s_total"] = round(proc_cpu_s(nginx.proc.pid) - n0, 2)
            nginx.stop()
    res["loadavg_at_end"] = os.getloadavg()
    Path(args.output).write_text(json.dumps(res, indent=2) + "\n")
    print_table(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
