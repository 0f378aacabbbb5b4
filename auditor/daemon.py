"""Process lifecycle for ``serve`` / ``worker`` / ``web``: threads, signals, graceful drain.

The asyncio worker loop runs on the main thread; the WSGI server runs in a thread.
SIGTERM/SIGINT stop claiming, let in-flight checks finish and write their results, then
close the web server and exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import threading
import time
from typing import Any

import structlog

from auditor.config import Config
from auditor.httpprobe import HttpProber
from auditor.store import Store
from auditor.worker import Worker, make_worker_id

log = structlog.get_logger("auditor.daemon")

#: seconds between retention / roll-up passes, and the most one pass may take
RETENTION_EVERY_S = 600.0
RETENTION_MAX_S = 300.0


async def retention_loop(store: Store, raw_s: float, stop: asyncio.Event) -> None:
    """Roll up and expire history every few minutes, in a thread (short transactions)."""
    from auditor.retention import RetentionPolicy, run_retention

    raw_s = max(raw_s, 3600.0)
    policy = RetentionPolicy(raw_s=raw_s, hourly_s=max(90 * 86400.0, raw_s * 2))
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
    """Waitress (plain HTTP) or werkzeug's threaded server (when ``tls_cert`` is set)."""

    def __init__(self, app: Any, host: str, port: int, tls: tuple[str, str] | None = None) -> None:
        self._tls = tls
        if tls:
            from werkzeug.serving import make_server

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(tls[0], tls[1])
            self._server: Any = make_server(host, port, app, threaded=True, ssl_context=ctx)
            self.port = self._server.server_port
        else:
            from waitress import create_server

            # waitress buffers up to 1 GB of request body (spooled to disk) before the app can
            # refuse it; cap it near the app's own limit so giant uploads are a 413 at once
            limit = int(app.config.get("MAX_CONTENT_LENGTH") or 1_000_000)
            self._server = create_server(
                app,
                host=host,
                port=port,
                threads=16,
                ident="auditor",
                max_request_body_size=2 * limit,
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
        self._thread.start()

    def stop(self) -> None:
        if self._tls:
            self._server.shutdown()
        else:
            self._server.close()
        self._thread.join(timeout=5)


def run_daemon(config: Config, store: Store, *, with_worker: bool, with_web: bool) -> int:
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
        )
        if with_worker
        else None
    )
    server = None
    if with_web:
        from web import create_app

        def scheduler_alive() -> bool:
            return worker is not None and time.monotonic() - worker.last_loop_at < 30.0

        app = create_app(
            config,
            store,
            scheduler_alive=scheduler_alive if worker else None,
            worker_metrics=worker.metrics if worker else None,
        )
        tls = (
            (settings.tls_cert, settings.tls_key)
            if settings.tls_cert and settings.tls_key
            else None
        )
        server = WebServer(app, settings.listen_host, settings.listen_port, tls)
        server.start()
        log.info(
            "web_listening",
            url=f"{'https' if tls else 'http'}://{settings.listen_host}:{server.port}/",
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

    try:
        asyncio.run(main())
    finally:
        if server is not None:
            server.stop()
        store.close()
        log.info("stopped")
    return 0
