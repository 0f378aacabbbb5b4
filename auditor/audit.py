"""One-shot audit: run selected checks now, store them like scheduled runs, report."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from auditor.config import Config
from auditor.probe.engines import new_prober
from auditor.probe.outcome import RunResult
from auditor.schedule.execution import OptionsCache, execute_claim
from auditor.schedule.rules import COMPLETION_RULES
from auditor.schedule.worker import make_worker_id
from auditor.store.claims import Claim, claims_for
from auditor.store.db import Database
from auditor.store.models import utcnow
from auditor.store.runs import complete


async def run_audit(
    config: Config,
    store: Database,
    *,
    services: Sequence[str] = (),
    kinds: Sequence[str] = (),
    progress: bool = False,
) -> list[RunResult]:
    """Run every selected enabled check concurrently (bounded by ``concurrency``) and store them."""
    claims = claims_for(store, services=services, kinds=kinds, now=utcnow())
    prober = new_prober(config.auditor.probe_engine, config.auditor.address_policy())
    environ = dict(os.environ)
    cache = OptionsCache(config.security.api_env_allowlist, environ)
    slots = asyncio.Semaphore(config.auditor.concurrency)

    async def one(claim: Claim) -> RunResult:
        async with slots:
            return await execute_claim(
                claim, prober=prober, store=store, options_cache=cache, environ=environ
            )

    try:
        if progress and claims:
            from rich.progress import Progress

            results: list[RunResult] = []
            with Progress(transient=True) as bar:
                task = bar.add_task("auditing", total=len(claims))
                for coro in asyncio.as_completed([one(c) for c in claims]):
                    results.append(await coro)
                    bar.advance(task)
            order = {(c.target.service, c.target.check): i for i, c in enumerate(claims)}
            results.sort(key=lambda r: order[(r.target.service, r.target.check)])
        else:
            results = list(await asyncio.gather(*(one(c) for c in claims)))
    finally:
        await prober.aclose()
    worker = make_worker_id("audit")
    # ad-hoc runs are keyed by their own start time so they never collide with scheduled ones
    items = [(_adhoc(c, r), r) for c, r in zip(claims, results, strict=True)]
    await asyncio.to_thread(complete, store, COMPLETION_RULES, items, worker, reschedule=False)
    return results


async def run_now(
    config: Config, store: Database, check_id: str, *, role: str = "api"
) -> tuple[RunResult, str | None] | None:
    """Run one enabled check immediately and store it like an audit run.

    Returns the result and the stored run id, or None when the check is unknown or disabled
    (it, or its service). Shared by the API's and the dashboard's "run now".
    """
    claims = claims_for(store, check_ids=[check_id], now=utcnow())
    if not claims:
        return None
    claim = claims[0]
    prober = new_prober(config.auditor.probe_engine, config.auditor.address_policy())
    environ = dict(os.environ)
    try:
        result = await execute_claim(
            claim,
            prober=prober,
            store=store,
            options_cache=OptionsCache(config.security.api_env_allowlist, environ),
            environ=environ,
        )
    finally:
        await prober.aclose()
    written = await asyncio.to_thread(
        complete,
        store,
        COMPLETION_RULES,
        [(_adhoc(claim, result), result)],
        make_worker_id(role),
        reschedule=False,
    )
    return result, (written[0] if written else None)


def _adhoc(claim: Claim, result: RunResult) -> Claim:
    from dataclasses import replace

    return replace(claim, due_at=result.started_at)


def print_text(results: Sequence[RunResult], summary: dict[str, int]) -> None:
    """A table on a terminal, plain aligned lines otherwise."""
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    colours = {"pass": "green", "warn": "yellow", "fail": "red", "error": "magenta"}
    if console.is_terminal:
        table = Table(show_header=True, header_style="bold")
        for column in ("status", "service", "check", "summary", "ms"):
            table.add_column(column)
        for r in results:
            st = str(r.status)
            table.add_row(
                f"[{colours[st]}]{st.upper()}[/]",
                r.target.service,
                r.target.check,
                r.summary,
                f"{r.duration_ms:.0f}",
            )
        console.print(table)
    else:
        for r in results:
            console.print(
                f"{str(r.status).upper():5} {r.target.service}/{r.target.check}: {r.summary}",
                markup=False,
            )
            for f in r.findings:
                console.print(f"      - [{f.severity}] {f.code}: {f.message}", markup=False)
    console.print(
        f"{len(results)} checks: {summary['pass']} pass, {summary['warn']} warn, "
        f"{summary['fail']} fail, {summary['error']} error",
        markup=False,
    )
