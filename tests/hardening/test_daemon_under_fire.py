"""The real daemon with 200 hostile checks at once: bounded memory, deadlines held, and the
healthy checks beside them keep their schedule (issue 8, part 1)."""

from __future__ import annotations

import signal
import statistics
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.hardening.daemon import RUNS_SQL, rss_bytes, sqlite_rows, start, wait_for, write_config
from tests.hardening.hostile import hostile_servers, refused_port
from tests.support import json_route, local_server

HOSTILE = 200
GOOD = 8
TIMEOUT_S = 2.0
MB = 1024 * 1024

# flavour -> error kinds a run may end with once the servers turn hostile
EXPECTED = {
    "drip": {"timeout"},
    "silent": {"timeout"},
    "huge": {"body_too_large"},
    "huge_chunked": {"body_too_large"},
    "bomb": {"body_too_large"},
    "garbage": {"invalid_response"},
    "reset": {"reset"},
    "many_headers": {"invalid_response"},
    "loop": {"too_many_redirects"},
    "tls_stall": {"timeout"},
    "tls_half": {"timeout"},
    "refused": {"refused"},
}


def _ts(text: str) -> float:
    return datetime.fromisoformat(str(text)).replace(tzinfo=UTC).timestamp()


@pytest.mark.slow
def test_200_hostile_checks_at_once(tmp_path: Path) -> None:
    db = tmp_path / "auditor.db"
    with hostile_servers() as hostile, local_server({"/ok": json_route(200, {"ok": 1})}) as good:
        hostile.benign.set()
        flavours = list(EXPECTED)
        dead = refused_port()
        services = []
        for i in range(HOSTILE):
            flavour = flavours[i % len(flavours)]
            url = f"http://127.0.0.1:{dead}/" if flavour == "refused" else hostile.url(flavour)
            services.append(
                {
                    "name": f"h{i:03d}-{flavour.replace('_', '-')}",
                    "url": url,
                    "checks": [{"kind": "health", "path": "/", "interval": "3s", "timeout": "2s"}],
                }
            )
        for i in range(GOOD):
            services.append(
                {
                    "name": f"good{i}",
                    "url": good,
                    "checks": [
                        {"kind": "health", "path": "/ok", "interval": "1s", "timeout": "1s"}
                    ],
                }
            )
        config = write_config(
            tmp_path / "config.toml",
            {
                "database_url": f"sqlite:///{db}",
                "concurrency": 300,
                "lease": "10s",
                "log_level": "warning",
            },
            services,
        )
        proc = start("worker", config, log=tmp_path / "daemon.log")
        try:

            def every_check_ran_twice() -> bool:
                per = Counter(row[0] for row in sqlite_rows(db, RUNS_SQL))
                return len(per) == HOSTILE + GOOD and min(per.values()) >= 2

            assert wait_for(every_check_ran_twice, 40), (tmp_path / "daemon.log").read_text()[
                -3000:
            ]
            baseline = statistics.median(
                rss_bytes(proc.pid) for _ in range(5) if time.sleep(0.1) is None
            )

            hostile.benign.clear()
            hostile_from = time.time()
            peak = baseline
            while time.time() - hostile_from < 12.0:
                peak = max(peak, rss_bytes(proc.pid))
                time.sleep(0.2)
            assert proc.poll() is None, "the daemon died under fire"
            window_end = time.time()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except Exception:
                proc.kill()
                raise

    growth = (peak - baseline) / MB
    print(f"RSS baseline {baseline / MB:.0f} MB, peak {peak / MB:.0f} MB, growth {growth:.1f} MB")
    assert growth <= 50, f"RSS grew {growth:.1f} MB (baseline {baseline / MB:.0f} MB)"

    rows = sqlite_rows(db, RUNS_SQL)
    late = [r for r in rows if _ts(r[4]) >= hostile_from + TIMEOUT_S + 1.5]  # started once hostile
    by_flavour: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    good_runs: Counter[str] = Counter()
    for row in late:
        name = str(row[0])
        if name.startswith("good"):
            if _ts(row[4]) <= window_end:
                good_runs[name] += 1
            continue
        by_flavour[name.split("-", 1)[1].replace("-", "_")].append(row)
    assert set(by_flavour) == set(EXPECTED), set(EXPECTED) - set(by_flavour)
    for flavour, runs in by_flavour.items():
        for _, status, kind, duration_ms, *_ in runs:
            assert status in ("error", "fail"), (flavour, status, kind)
            assert kind in EXPECTED[flavour], (flavour, kind)
            assert duration_ms <= (TIMEOUT_S + 1.0) * 1000, (flavour, duration_ms)
    print("hostile runs per flavour:", {f: len(r) for f, r in by_flavour.items()})
    print("good runs:", dict(good_runs))
    # the healthy checks kept a 1 s cadence beside 200 hostile ones (window ~8.5 s)
    span = window_end - (hostile_from + TIMEOUT_S + 1.5)
    assert len(good_runs) == GOOD and min(good_runs.values()) >= int(span * 0.7), (
        dict(good_runs),
        span,
    )
