"""More probe processes beside the worker: ``[auditor] worker_processes`` (issue #19).

The GIL caps one Python process at one core. The scheduler already shares work through the
database (claims are leased rows, ``auditor.store.claims``), so N processes claiming from the
same database split the due checks between them with no coordinator and no duplicate run
(``(check_id, due_at)`` is unique). ``auditor worker`` / ``serve`` with ``worker_processes``
> 1 forks N-1 probe processes before it starts anything else; each runs its own event loop,
prober and ``Worker`` (batched claims, batched result writes) and nothing else: alerts,
retention and the web server stay with the parent. SIGTERM to the parent drains every
child the same way (in-flight checks finish and are stored; claims not started are given
back); a child whose parent dies (SIGKILL) stops itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time

import structlog

from auditor.config import Config
from auditor.probe.engines import new_prober
from auditor.process.web_server import usable_cpus
from auditor.schedule.drain import Drain
from auditor.schedule.worker import Worker, make_worker_id
from auditor.store.db import Database

log = structlog.get_logger("auditor.probe_processes")

#: ``worker_processes = "auto"`` never runs more probe processes than this
AUTO_MAX_WORKER_PROCESSES = 64


def worker_process_count(setting: int | str) -> int:
    """How many probe processes ``worker_processes`` asks for ("auto"/0: one per usable CPU)."""
    if setting == "auto" or setting == 0:
        return max(1, min(AUTO_MAX_WORKER_PROCESSES, usable_cpus()))
    return max(1, int(setting))


def build_worker(config: Config, store: Database, drain: Drain, role: str) -> Worker:
    """One probe process's worker and its own prober, as the config says."""
    settings = config.auditor
    prober = new_prober(
        settings.probe_engine,
        settings.address_policy(),
        max_connections=max(settings.concurrency * 2, 10),
        source_address=settings.source_address,
    )
    return Worker(
        store,
        prober=prober,
        concurrency=settings.concurrency,
        lease_s=settings.lease,
        worker_id=make_worker_id(role),
        drain=drain,
        api_env_allowlist=config.security.api_env_allowlist,
        location=settings.location,
    )


class ProbeChildren:
    """The probe processes forked beside the parent's worker."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.exited: dict[int, int] = {}

    @classmethod
    def fork(cls, config: Config, store: Database, count: int) -> ProbeChildren:
        """Fork ``count`` probe processes (call before any thread or event loop exists)."""
        parent = os.getpid()
        pids = []
        for _ in range(count):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = _child(config, store, parent)
                finally:
                    os._exit(code)
            pids.append(pid)
        log.info("probe_processes_started", pids=pids, total=count + 1)
        return cls(pids)

    def terminate(self) -> None:
        """SIGTERM every child still running: each drains as the parent does."""
        for pid in self.pids:
            if pid not in self.exited:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    def stop(self, timeout: float) -> None:
        """SIGTERM every child (each drains), wait up to ``timeout``, then SIGKILL."""
        self.terminate()
        deadline = time.monotonic() + timeout
        while len(self.exited) < len(self.pids) and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.05)
        for pid in self.pids:
            if pid not in self.exited:
                log.warning("probe_process_killed", pid=pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)

    def reap(self) -> list[int]:
        """Children that exited since the last call (their claims expire and are retaken)."""
        gone = []
        for pid in self.pids:
            if pid in self.exited:
                continue
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done == 0:
                    continue
                self.exited[pid] = status
                gone.append(pid)
        return gone

    async def watch(self, stop: asyncio.Event) -> None:
        """Log a child that died on its own; the others and the parent carry its share."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            for pid in self.reap():
                log.error("probe_process_exited", pid=pid, status=self.exited[pid])


def _child(config: Config, store: Database, parent: int) -> int:
    """A probe process: claim, probe and store until SIGTERM (or the parent is gone)."""
    store.engine.dispose(close=False)  # the parent's pooled connections are not ours
    drain = Drain(config.auditor.drain_timeout)
    worker = build_worker(config, store, drain, "worker")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            drain.begin()
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        _watch_parent(parent, loop, on_signal)
        try:
            await worker.run(stop)
        finally:
            await worker.prober.aclose()

    try:
        asyncio.run(main())
    finally:
        store.close()
    return 0


def _watch_parent(parent: int, loop: asyncio.AbstractEventLoop, on_gone: object) -> None:
    """A parent killed with SIGKILL must not leave its probe processes claiming work."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        log.warning("probe_process_orphaned")
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(on_gone)  # type: ignore[arg-type]

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
