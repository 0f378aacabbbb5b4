"""The worker loop: claim due checks, run them concurrently, write results in batches.

One asyncio loop per process. A semaphore caps concurrent probes; claimed work is leased
in the database, so several workers (processes or nodes) share checks without a
coordinator. Each poll claims what is due within ``claim_ahead_s`` and arms a timer per
check, so a check starts at its due time rather than at the next poll after it (the poll
period and the claim transaction no longer add to the lag). On stop, no new work is
claimed, claims not yet started are given back, in-flight checks finish (each bounded by
its own deadline) and every result is written before ``run`` returns — within the
shutdown budget when a :class:`~auditor.schedule.drain.Drain` is given (``drain.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

import structlog

from auditor.probe.http import HttpProber
from auditor.schedule.drain import Drain, finish, settle
from auditor.schedule.execution import OptionsCache, execute_claim
from auditor.schedule.instruments import WorkerMetrics
from auditor.schedule.located import Claimer
from auditor.schedule.rules import COMPLETION_RULES
from auditor.schedule.runner import RunResult
from auditor.store.claims import Claim, release
from auditor.store.db import Database
from auditor.store.models import utcnow
from auditor.store.nodes import heartbeat_node, remove_node
from auditor.store.runs import complete

log = structlog.get_logger("auditor.worker")


def make_worker_id(role: str = "worker") -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{role}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims and runs due checks until ``stop`` is set; see the module docstring."""

    def __init__(
        self,
        store: Database,
        *,
        prober: HttpProber,
        concurrency: int = 100,
        lease_s: float = 60.0,
        worker_id: str | None = None,
        poll_interval: float = 0.5,
        batch_interval: float = 0.25,
        environ: Mapping[str, str] | None = None,
        claim_ahead_s: float = 2.0,
        drain: Drain | None = None,
        api_env_allowlist: Collection[str] = (),
        location: str = "",
    ) -> None:
        self.store, self.location, self.claimer = store, location, Claimer(location)
        self.prober = prober
        self.concurrency = concurrency
        self.lease_s = lease_s
        self.worker_id = worker_id or make_worker_id()
        self.poll_interval = poll_interval
        self.batch_interval = batch_interval
        self.environ = os.environ if environ is None else environ
        self.options_cache = OptionsCache(api_env_allowlist, self.environ)
        self.drain = drain
        self.inflight: dict[asyncio.Task[None], Claim] = {}
        self.results: asyncio.Queue[tuple[Claim, RunResult]] = asyncio.Queue()
        self.lag_samples: deque[float] = deque(maxlen=10_000)
        self.metrics = WorkerMetrics()  # this process's lag / duration histograms (/metrics)
        self.runs_completed = 0
        self.last_loop_at: float = 0.0
        self._slots = asyncio.Semaphore(concurrency)
        # claim ahead by more than the longest pause between polls, so every check is
        # claimed before it is due; the backlog of armed timers is bounded
        self.claim_ahead_s = max(claim_ahead_s, poll_interval * 1.5 + 0.5)
        self.max_ahead = max(1000, concurrency * 10)
        self.waiting: dict[str, tuple[Claim, asyncio.TimerHandle]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Main loop; returns after ``stop`` once every in-flight result is stored."""
        # everything built at start-up (modules, ORM metadata, the web app, pools) lives as
        # long as the process: keep it out of the collector's full passes, whose pauses
        # (hundreds of ms with it) stall every timer on this loop. No collection first: a
        # full pass here would delay the first claims after a (re)start
        gc.freeze()
        writer = asyncio.create_task(self._writer(stop))
        beat = node_heartbeat(self.store, self.worker_id, stop, self.location)
        node_task = asyncio.create_task(beat)
        log.info("worker_started", worker=self.worker_id, location=self.location or None)
        try:
            while not stop.is_set():
                self.last_loop_at = time.monotonic()
                room = 0
                if len(self.inflight) < self.concurrency:  # no claiming while probes queue
                    room = min(500, self.max_ahead - len(self.waiting))
                claimed = 0
                if room > 0:
                    try:
                        claims = await asyncio.to_thread(
                            self.claimer.claim,
                            self.store,
                            self.worker_id,
                            utcnow(),
                            room,
                            self.lease_s,
                            horizon_s=self.claim_ahead_s,
                        )
                    except Exception as exc:
                        log.error("claim_failed", error=repr(exc))
                        claims = []
                    claimed = len(claims)
                    for claim in claims:
                        self._arm(claim)
                if claimed and claimed >= room:
                    await asyncio.sleep(0)  # more may be due: claim again at once
                    continue
                with contextlib.suppress(TimeoutError):
                    # a random poll phase: workers polling in lock-step would split the due
                    # checks by their fixed phase gaps instead of evenly
                    pause = self.poll_interval * random.uniform(0.5, 1.5)
                    await asyncio.wait_for(stop.wait(), timeout=pause)
        finally:
            log.info(
                "worker_draining",
                worker=self.worker_id,
                inflight=len(self.inflight),
                returned=len(self.waiting),
            )
            await self._give_back()
            d = self.drain
            # the steps after this one (storing, closing the web server) keep 1.5-5 s
            budget = None if d is None else d.left(d.reserve(0.25, 5.0, 1.5))
            await settle(self.inflight, budget, self._release)
            await self.results.put(_FLUSH)  # type: ignore[arg-type]
            await finish(writer, None if d is None else d.left(d.reserve(0.1, 2.0)), "store")
            node_task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(remove_node, self.store, self.worker_id)
            log.info("worker_stopped", worker=self.worker_id, runs=self.runs_completed)

    def _arm(self, claim: Claim) -> None:
        """Start ``claim`` at its start time (now if that has passed)."""
        delay = (claim.start_at - utcnow()).total_seconds()
        if delay <= 0:
            self._start(claim)
            return
        old = self.waiting.pop(claim.check_id, None)
        if old is not None:  # cannot happen while we hold its lease; never run it twice
            old[1].cancel()
        handle = asyncio.get_running_loop().call_later(delay, self._due, claim)
        self.waiting[claim.check_id] = (claim, handle)

    def _due(self, claim: Claim) -> None:
        self.waiting.pop(claim.check_id, None)
        self._arm(claim)  # re-arms if the timer fired a hair early on the wall clock

    def _start(self, claim: Claim) -> None:
        task = asyncio.create_task(self._execute(claim))
        self.inflight[task] = claim
        task.add_done_callback(lambda done: self.inflight.pop(done, None))

    async def _give_back(self) -> None:
        """Release claims whose time has not come, so another worker runs them on time."""
        if not self.waiting:
            return
        claims = [claim for claim, _ in self.waiting.values()]
        for _, handle in self.waiting.values():
            handle.cancel()
        self.waiting.clear()
        await self._release(claims)

    async def _release(self, claims: list[Claim]) -> None:
        try:
            await asyncio.to_thread(release, self.store, claims, self.worker_id)
        except Exception as exc:  # their leases lapse on their own
            log.warning("release_failed", error=repr(exc), claims=len(claims))

    async def _execute(self, claim: Claim) -> None:
        async with self._slots:
            # the lease must outlast the run: if the wait for a slot ate it, another worker
            # may already hold this check, so leave it to the next claim
            if utcnow() + timedelta(seconds=claim.timeout_s) >= claim.lease_until:
                log.warning(
                    "claim_lease_too_short",
                    service=claim.target.service,
                    check=claim.target.check,
                )
                return
            await self._run_claim(claim)

    async def _run_claim(self, claim: Claim) -> None:
        lag = max(0.0, (utcnow() - claim.due_at).total_seconds())
        self.lag_samples.append(lag)
        self.metrics.observe_lag(lag)
        result = await execute_claim(
            claim,
            prober=self.prober,
            store=self.store,
            options_cache=self.options_cache,
            environ=self.environ,
        )
        self.metrics.observe_run(claim.kind, result.duration_ms / 1000.0)
        await self.results.put((claim, result))

    async def _writer(self, stop: asyncio.Event) -> None:
        """Batch results into few short transactions; never drop one (retry on DB errors)."""
        pending: list[tuple[Claim, RunResult]] = []
        finished = False
        last_write = 0.0
        while not finished or pending:
            if not finished:
                try:
                    item = await asyncio.wait_for(self.results.get(), timeout=self.batch_interval)
                    if item is _FLUSH:
                        finished = True
                    else:
                        pending.append(item)
                        # checks start on their own due times, so results trickle in: at
                        # most one write per batch_interval gathers them (one transaction
                        # per result costs far more, and on SQLite holds the write lock
                        # claims need); after a quiet spell a result is written at once
                        wait = last_write + self.batch_interval - time.monotonic()
                        if wait > 0 and self.results.qsize() < 500:
                            await asyncio.sleep(wait)
                        while not self.results.empty() and len(pending) < 500:
                            nxt = self.results.get_nowait()
                            if nxt is _FLUSH:
                                finished = True
                                break
                            pending.append(nxt)
                except TimeoutError:
                    pass
            if not pending:
                continue
            last_write = time.monotonic()
            pending = await self._store_batch(pending)

    async def _store_batch(
        self, batch: list[tuple[Claim, RunResult]]
    ) -> list[tuple[Claim, RunResult]]:
        """Write a batch; return what is still unwritten.

        While the database is unreachable everything stays pending (and is retried). When it
        is reachable but the batch fails, one poisoned result must not block the rest: each
        is written alone, and one the database refuses is replaced by an ``error`` result
        saying why, so the due time is still accounted for.
        """
        try:
            await asyncio.to_thread(
                complete, self.store, COMPLETION_RULES, batch, self.worker_id, background=True
            )
            self.runs_completed += len(batch)
            return []
        except Exception as exc:
            log.error("store_write_failed", error=repr(exc), pending=len(batch))
        if not await asyncio.to_thread(self.store.ping):
            await asyncio.sleep(1.0)
            return batch
        leftover: list[tuple[Claim, RunResult]] = []
        for claim, result in batch:
            for attempt in (result, _unstorable(result)):
                try:
                    await asyncio.to_thread(
                        complete,
                        self.store,
                        COMPLETION_RULES,
                        [(claim, attempt)],
                        self.worker_id,
                        background=True,
                    )
                except Exception as exc:
                    log.error(
                        "result_rejected",
                        service=claim.target.service,
                        check=claim.target.check,
                        error=repr(exc),
                        replaced=attempt is not result,
                    )
                    continue
                self.runs_completed += 1
                break
            else:
                leftover.append((claim, result))
        if leftover:
            await asyncio.sleep(1.0)
        return leftover


_FLUSH: Any = object()


async def node_heartbeat(
    store: Database, node_id: str, stop: asyncio.Event, location: str = ""
) -> None:
    """Announce this worker as a live node every 10 s until ``stop`` (``/readyz`` reads it;
    so does the quorum, which reports a location with no live worker)."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(
                heartbeat_node,
                store,
                node_id,
                "worker",
                socket.gethostname(),
                os.getpid(),
                location,
            )
        except Exception as exc:
            log.warning("node_heartbeat_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=10.0)


def _unstorable(result: RunResult) -> RunResult:
    """A minimal ``error`` result standing in for one the database refused to store."""
    message = (
        "the result of this run could not be stored (the database refused it); facts were dropped"
    )
    return RunResult.unmeasured(
        result.target,
        "internal",
        message,
        started_at=result.started_at,
        duration_ms=result.duration_ms,
    )
