"""The shutdown budget: SIGTERM always ends the process within ``[auditor] drain_timeout``.

On SIGTERM the worker stops claiming, gives back the claims it has not started, and lets
in-flight checks finish — but only for part of the budget: a probe that hangs (a server that
never answers, a thread stuck in a driver) is cancelled and its claim released, so it runs
again at once on the next worker or restart, and a result the database will not take is
left for the lease to expire (the due time is run again) instead of being retried for ever.
A watchdog thread ends the process when the budget is spent whatever is still stuck (a
thread Python cannot cancel would otherwise keep the interpreter alive at exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

log = structlog.get_logger("auditor.drain")

#: the exit status when the watchdog had to end the process (something did not stop in time)
EXIT_DRAIN_EXCEEDED = 70


class Drain:
    """``timeout_s`` seconds from :meth:`begin` (SIGTERM) to the end of the process."""

    def __init__(self, timeout_s: float, *, exit_process: Callable[[int], Any] = os._exit):
        self.timeout_s = timeout_s
        self._started: float | None = None
        self._exit_process = exit_process

    @property
    def started(self) -> bool:
        return self._started is not None

    def begin(self, *, watchdog: bool = True) -> None:
        """Start the clock (idempotent); with ``watchdog``, end the process when it runs out."""
        if self._started is not None:
            return
        self._started = time.monotonic()
        log.info("drain_started", timeout_s=self.timeout_s)
        if watchdog:
            threading.Thread(target=self._expire, name="drain-watchdog", daemon=True).start()

    def left(self, reserve: float = 0.0) -> float:
        """Seconds left of the budget, keeping ``reserve`` for the steps that follow."""
        if self._started is None:
            return max(0.0, self.timeout_s - reserve)
        return max(0.0, self._started + self.timeout_s - time.monotonic() - reserve)

    def reserve(self, share: float, most: float, least: float = 0.0) -> float:
        """``share`` of the budget, within ``[least, most]`` seconds: what later steps keep."""
        return min(most, max(least, self.timeout_s * share))

    def _expire(self) -> None:
        time.sleep(self.left())
        log.error("drain_timeout_exceeded", timeout_s=self.timeout_s)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        self._exit_process(EXIT_DRAIN_EXCEEDED)


async def settle(
    running: Mapping[asyncio.Task[None], Any],
    budget: float | None,
    give_back: Callable[[list[Any]], Awaitable[None]],
) -> None:
    """Wait for the in-flight runs (``task -> claim``) up to ``budget`` seconds (None: until
    each ends on its own deadline); cancel the rest and give their claims back."""
    if not running:
        return
    tasks = list(running)
    claims = dict(running)
    if budget is None:
        await asyncio.gather(*tasks, return_exceptions=True)
        return
    _, pending = await asyncio.wait(tasks, timeout=budget)
    if not pending:
        return
    log.warning("drain_cancelled_runs", runs=len(pending))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await give_back([claims[t] for t in pending])


async def finish(task: asyncio.Task[None], budget: float | None, what: str) -> None:
    """Await ``task`` for at most ``budget`` seconds (None: without limit), then cancel it."""
    if budget is None:
        await task
        return
    try:
        await asyncio.wait_for(task, timeout=max(budget, 0.01))
    except TimeoutError:
        log.error("drain_gave_up", step=what, budget_s=round(budget, 2))
