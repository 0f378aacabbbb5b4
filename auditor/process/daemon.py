"""Process lifecycle for ``serve`` / ``worker`` / ``web``: threads, signals, graceful drain.

The asyncio worker loop runs on the main thread; one web process's WSGI server runs in a
thread, several are gunicorn's (its master is this process for ``web``, a sibling of the
scheduler for ``serve``). SIGTERM/SIGINT stop claiming, let in-flight checks finish and
write their results, then stop the web server and exit 0 — all within
``[auditor] drain_timeout``: what is still running then is cancelled and its claim released,
and a watchdog ends the process if anything still holds it (``auditor/schedule/drain.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import time
from typing import Any

import structlog

from auditor.config import Config
from auditor.probe.engines import new_prober
from auditor.process.port import ensure_port_free
from auditor.process.probe_processes import ProbeChildren, worker_process_count
from auditor.process.shared_state import share_app_state, shared_worker_metrics
from auditor.process.web_server import (
    GunicornServer,
    MasterProcess,
    WebServer,
    default_processes,
)
from auditor.schedule.drain import Drain
from auditor.schedule.worker import Worker, make_worker_id
from auditor.store.db import Database

log = structlog.get_logger("auditor.daemon")

#: seconds between retention / roll-up passes, and the most one pass may take
RETENTION_EVERY_S = 600.0
RETENTION_MAX_S = 300.0


async def retention_loop(
    store: Database, raw_s: float, stop: asyncio.Event, audit_s: float = 365 * 86400.0
) -> None:
    """Roll up and expire history every few minutes, in a thread (short transactions)."""
    from auditor.store.retention import policy_for, run_retention

    policy = policy_for(raw_s, audit_s)
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=RETENTION_EVERY_S)
        if stop.is_set():
            return
        try:
            report = await asyncio.to_thread(
                run_retention,
                store,
                None,
                policy,
                max_seconds=RETENTION_MAX_S,
                should_stop=stop.is_set,
            )
            log.info("retention_pass", **{k: v for k, v in vars(report).items() if k != "notes"})
        except Exception as exc:
            log.error("retention_failed", error=repr(exc))


async def _share_loop_time(worker: Worker, loop_at: Any, stop: asyncio.Event) -> None:
    """Publish the worker's liveness to forked web processes (their ``/readyz``)."""
    while not stop.is_set():
        loop_at.value = worker.last_loop_at
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


def _budget(drain: Drain) -> float:
    """What one shutdown step may wait: the budget left, keeping a little for the next."""
    return max(0.01, drain.left(drain.reserve(0.05, 1.0)))


def run_daemon(config: Config, store: Database, *, with_worker: bool, with_web: bool) -> int:
    settings = config.auditor
    # more probe processes first, while this process has no thread or event loop to copy
    extra = worker_process_count(settings.worker_processes) - 1 if with_worker else 0
    children = ProbeChildren.fork(config, store, extra) if extra > 0 else None
    prober = new_prober(
        settings.probe_engine,
        settings.address_policy(),
        max_connections=max(settings.concurrency * 2, 10),
        source_address=settings.source_address,
    )
    drain = Drain(settings.drain_timeout)
    worker = (
        Worker(
            store,
            prober=prober,
            concurrency=settings.concurrency,
            lease_s=settings.lease,
            worker_id=make_worker_id("serve" if with_web else "worker"),
            drain=drain,
            api_env_allowlist=config.security.api_env_allowlist,
            location=settings.location,
        )
        if with_worker
        else None
    )
    server: WebServer | None = None
    master: MasterProcess | None = None
    loop_at: Any = None  # the worker's last loop time, shared with forked web processes
    if with_web:
        from web import create_app

        n = settings.web_processes or default_processes()
        if worker is not None and n > 1:
            loop_at = multiprocessing.RawValue("d", 0.0)

        def scheduler_alive() -> bool:
            if worker is None:
                return False
            last = worker.last_loop_at if loop_at is None else loop_at.value
            return time.monotonic() - last < 30.0

        app = create_app(
            config,
            store,
            scheduler_alive=scheduler_alive if worker else None,
            worker_metrics=shared_worker_metrics(worker, n),
        )
        tls = (
            (settings.tls_cert, settings.tls_key)
            if settings.tls_cert and settings.tls_key
            else None
        )
        host = settings.listen_host
        ensure_port_free(host, settings.listen_port)  # PortBusy: another daemon serves it
        gunicorn: GunicornServer | None = None
        if n > 1:
            share_app_state(app, store)
            gunicorn = GunicornServer(
                app, store, host, settings.listen_port, n, tls=tls, log_level=settings.log_level
            )
            port = gunicorn.port
        else:
            server = WebServer(app, host, settings.listen_port, tls)
            server.start()
            port = server.port
        log.info(
            "web_listening",
            url=f"{'https' if tls else 'http'}://{host}:{port}/",
            processes=n,
        )
        if gunicorn is not None and worker is None:
            try:  # ``web``: this process is gunicorn's master
                return gunicorn.run()
            finally:
                store.close()
                log.info("stopped")
        if gunicorn is not None:
            master = gunicorn.start_beside()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            drain.begin()
            stop.set()
            if children is not None:
                children.terminate()  # they drain alongside this process

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        alerts: asyncio.Task[None] | None = None
        retention: asyncio.Task[None] | None = None
        helpers: list[asyncio.Task[None]] = []
        discovery: asyncio.Task[None] | None = None
        if worker is not None:
            from auditor.alerting.dispatcher import Dispatcher

            dispatcher = Dispatcher(store, config, prober, node_id=worker.worker_id)
            alerts = asyncio.create_task(dispatcher.run(stop), name="alert-dispatcher")
            retention = asyncio.create_task(
                retention_loop(store, settings.retention, stop, settings.audit_retention),
                name="retention",
            )
            from auditor.discovery import Discoverer

            # discovered services: a pass at start, then as each source's refresh falls due
            discoverer = Discoverer(config, store, prober)
            discovery = asyncio.create_task(discoverer.run(stop), name="discovery")
        if master is not None:
            helpers.append(asyncio.create_task(master.watch(stop), name="web-master"))
        if loop_at is not None and worker is not None:
            helpers.append(asyncio.create_task(_share_loop_time(worker, loop_at, stop)))
        if children is not None:
            helpers.append(asyncio.create_task(children.watch(stop), name="probe-processes"))
        try:
            if worker is not None:
                await worker.run(stop)
            else:
                await stop.wait()
        finally:
            stop.set()
            if alerts is not None:
                try:
                    await asyncio.wait_for(alerts, timeout=min(15.0, _budget(drain)))
                except (TimeoutError, asyncio.CancelledError):
                    log.warning("alert_dispatcher_stop_timeout")
                except Exception as exc:
                    log.error("alert_dispatcher_failed", error=repr(exc))
            if retention is not None:
                # a running pass stops after its current short batch
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(retention, timeout=min(30.0, _budget(drain)))
            if discovery is not None:  # a pass under way finishes its short transaction
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(discovery, timeout=min(10.0, _budget(drain)))
            await prober.aclose()
            for task in helpers:  # loops that only watch ``stop``: nothing to finish
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=min(2.0, _budget(drain)))

    try:
        asyncio.run(main())
    finally:
        if server is not None:
            server.stop()
        if master is not None:
            master.stop(timeout=max(0.1, min(10.0, drain.left(0.2))))
        if children is not None:
            children.stop(timeout=max(0.5, drain.left(0.1)))
        store.close()
        log.info("stopped")
    return 1 if master is not None and master.crashed else 0
