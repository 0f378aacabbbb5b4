"""A hostile response can never stop results from being stored (PostgreSQL rejects NaN and NUL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from http.server import BaseHTTPRequestHandler

from sqlmodel import select

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult
from auditor.schedule.worker import Worker
from auditor.store.claims import claim_due
from auditor.store.db import Database
from auditor.store.models import Run, utcnow
from checks.base import RunStatus
from tests.support import local_server


def _poison(req: BaseHTTPRequestHandler) -> None:
    body = b'{"status": NaN, "msg": "a\\u0000b", "odd": "\\ud800"}'
    req.send_response(200)
    req.send_header("Content-Type", "application/json")
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


async def test_hostile_json_is_stored_cleanly(db_url: str) -> None:
    with local_server({"/h": _poison}) as base:
        config = parse_config(
            {
                "services": [
                    {
                        "name": "evil",
                        "url": base,
                        "checks": [
                            {
                                "kind": "health",
                                "path": "/h",
                                "interval": "1m",
                                "conditions": ["[BODY].msg == x"],
                            },
                        ],
                    }
                ]
            },
            environ={},
        )
        store = Database(db_url)
        sync_config(store, config)
        worker = Worker(store, prober=HttpProber(), concurrency=2, poll_interval=0.1)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        for _ in range(100):
            await asyncio.sleep(0.1)
            if worker.runs_completed:
                break
        stop.set()
        await task
    with store.read() as s:
        runs = s.exec(select(Run)).all()
    assert len(runs) == 1
    body = runs[0].facts.get("body_json") or {}
    assert (
        body.get("status") is None
        and "\x00" not in str(runs[0].facts)
        and "\x00" not in runs[0].summary
    )


async def test_a_result_the_database_refuses_is_replaced_not_blocking_the_rest(pg_url: str) -> None:
    store = Database(pg_url)
    sync_config(
        store,
        parse_config(
            {
                "services": [
                    {"name": f"s{i}", "url": "http://127.0.0.1:9", "checks": [{"kind": "health"}]}
                    for i in range(3)
                ]
            },
            environ={},
        ),
    )
    claims = claim_due(store, "w", utcnow() + timedelta(seconds=1), 10, 60)
    worker = Worker(store, prober=HttpProber(), worker_id="w")

    def result(claim, facts, summary="ok"):  # type: ignore[no-untyped-def]
        return RunResult(
            target=claim.target,
            status=RunStatus.PASS,
            summary=summary,
            findings=[],
            facts=facts,
            started_at=utcnow(),
            duration_ms=1.0,
        )

    # bypass the runner's cleaning: a NUL byte in text is refused by PostgreSQL
    batch = [
        (claims[0], result(claims[0], {}, "a\x00b")),
        (claims[1], result(claims[1], {})),
        (claims[2], result(claims[2], {})),
    ]
    left = await worker._store_batch(batch)
    assert left == []
    with store.read() as s:
        runs = {r.check_id: r for r in s.exec(select(Run)).all()}
    assert len(runs) == 3
    assert (
        runs[claims[0].check_id].status == "error"
        and runs[claims[0].check_id].error_kind == "internal"
    )
    assert runs[claims[1].check_id].status == "pass"
