"""Process lifecycle for ``serve`` / ``worker`` / ``web``: threads, signals, graceful drain.

The asyncio worker loop runs on the main thread; the WSGI server runs in a thread.
SIGTERM/SIGINT stop claiming, let in-flight checks finish and write their results, then
close the web server and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import signal
import socket
import ssl
import threading
import time
from typing import Any

import structlog

from auditor.config import Config
from auditor.probe.http import HttpProber
from auditor.process.web_processes import (
    WebProcesses,
    default_processes,
    listen_socket,
    share_app_state,
)
from auditor.schedule.worker import Worker, make_worker_id
from auditor.store.db import Database

log = structlog.get_logger("auditor.daemon")

#: seconds between retention / roll-up passes, and the most one pass may take
RETENTION_EVERY_S = 600.0
RETENTION_MAX_S = 300.0


async def retention_loop(store: Database, raw_s: float, stop: asyncio.Event) -> None:
    """Roll up and expire history every few minutes, in a thread (short transactions)."""
    from auditor.store.retention import policy_for, run_retention

    policy = policy_for(raw_s)
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


class WebServer:
    """Waitress (plain HTTP) or werkzeug's threaded server (when ``tls_cert`` is set).

    ``sock``: serve on an already listening socket (shared by several web processes).
    """

    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
        tls: tuple[str, str] | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        self._tls = tls
        if tls:
            from werkzeug.serving import make_server

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(tls[0], tls[1])
            fd = None if sock is None else sock.fileno()
            self._server: Any = make_server(host, port, app, threaded=True, ssl_context=ctx, fd=fd)
            self.port = int(self._server.socket.getsockname()[1])
        else:
            from waitress import create_server

            # waitress buffers up to 1 GB of request body (spooled to disk) before the app can
            # refuse it; cap it near the app's own limit so giant uploads are a 413 at once
            limit = int(app.config.get("MAX_CONTENT_LENGTH") or 1_000_000)
            where: dict[str, Any] = (
                {"host": host, "port": port} if sock is None else {"sockets": [sock]}
            )
            self._server = create_server(
                app,
                threads=16,
                ident="auditor",
                max_request_body_size=2 * limit,
                **where,
            )
            self.port = self._server.effective_port
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)

    def _serve(self) -> None:
        try:
            if self._tls:
                self._server.serve_forever()
            else:
                self._server.run()
        except Exception as exc:  # closing the socket ends run() with an error on some platforms
            log.debug("web_server_ended", error=repr(exc))

    def start(self) -> None:
        # the app, ORM metadata and pools built so far live as long as the process: keep
        # them out of the collector's full passes, which otherwise walk them all during a
        # cold /metrics scrape (~100 ms of CPU when one lands there)
        gc.collect()
        gc.freeze()
        self._thread.start()

    def stop(self) -> None:
        if self._tls:
            self._server.shutdown()
        else:
            self._server.close()
        self._thread.join(timeout=5)


async def _share_loop_time(worker: Worker, loop_at: Any, stop: asyncio.Event) -> None:
    """Publish the worker's liveness to forked web processes (their ``/readyz``)."""
    while not stop.is_set():
        loop_at.value = worker.last_loop_at
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


def shared_worker_metrics(worker: Worker | None, web_processes: int) -> Any:
    """The worker's histograms as the web half sees them: the live objects in one process,
    a shared-memory mirror once web processes are forked (they would see a frozen copy)."""
    if worker is None:
        return None
    if web_processes == 1:
        return worker.metrics
    from auditor.metrics import SharedWorkerHistograms
    from checks.registry import known_kinds

    worker.metrics.shared = SharedWorkerHistograms(known_kinds())
    return worker.metrics.shared


def run_daemon(config: Config, store: Database, *, with_worker: bool, with_web: bool) -> int:
    settings = config.auditor
    prober = HttpProber(
        settings.address_policy(), max_connections=max(settings.concurrency * 2, 10)
    )
    worker = (
        Worker(
            store,
            prober=prober,
            concurrency=settings.concurrency,
            lease_s=settings.lease,
            worker_id=make_worker_id("serve" if with_web else "worker"),
            api_env_allowlist=config.security.api_env_allowlist,
        )
        if with_worker
        else None
    )
    server: WebServer | None = None
    processes: WebProcesses | None = None
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
        if n > 1:
            # holds the port (a bound, not listening socket gets no connections); each web
            # process listens on its own SO_REUSEPORT socket for it
            sock = listen_socket(host, settings.listen_port, reuse_port=True, listen=False)
            port = int(sock.getsockname()[1])
            share_app_state(app, store)

            def serve_child(child_stop: threading.Event) -> None:
                own = listen_socket(host, port, reuse_port=True)
                child = WebServer(app, host, port, tls, sock=own)
                child.start()
                while not child_stop.wait(1.0):
                    pass
                child.stop()

            processes = WebProcesses(n, serve_child, store)
            processes.start()
        else:
            server = WebServer(app, host, settings.listen_port, tls)
            server.start()
            port = server.port
        log.info(
            "web_listening",
            url=f"{'https' if tls else 'http'}://{host}:{port}/",
            processes=n,
        )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        alerts: asyncio.Task[None] | None = None
        retention: asyncio.Task[None] | None = None
        if worker is not None:
            from auditor.alerting.dispatcher import Dispatcher

            dispatcher = Dispatcher(store, config, prober, node_id=worker.worker_id)
            alerts = asyncio.create_task(dispatcher.run(stop), name="alert-dispatcher")
            retention = asyncio.create_task(
                retention_loop(store, settings.retention, stop), name="retention"
            )
        helpers: list[asyncio.Task[None]] = []
        if processes is not None:
            helpers.append(asyncio.create_task(processes.supervise(stop), name="web-processes"))
        if loop_at is not None and worker is not None:
            helpers.append(asyncio.create_task(_share_loop_time(worker, loop_at, stop)))
        try:
            if worker is not None:
                await worker.run(stop)
            else:
                await stop.wait()
        finally:
            stop.set()
            if alerts is not None:
                try:
                    await asyncio.wait_for(alerts, timeout=15.0)
                except (TimeoutError, asyncio.CancelledError):
                    log.warning("alert_dispatcher_stop_timeout")
                except Exception as exc:
                    log.error("alert_dispatcher_failed", error=repr(exc))
            if retention is not None:
                # a running pass stops after its current short batch
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(retention, timeout=30.0)
            await prober.aclose()
            for task in helpers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=2.0)

    try:
        asyncio.run(main())
    finally:
        if server is not None:
            server.stop()
        if processes is not None:
            processes.stop()
        store.close()
        log.info("stopped")
    return 0
