"""Serving the Flask app: waitress in a thread for one web process, gunicorn for several.

The GIL caps one Python process at one core, so ``web_processes`` > 1 runs gunicorn's
pre-fork server (gthread workers, one ``SO_REUSEPORT`` socket each) on the app built once
before the fork; what the processes must agree on is in shared memory
(``auditor.process.shared_state``), inherited through ``preload_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import os
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from auditor.store.db import Database
from auditor.store.lastuse import flush_pending

log = structlog.get_logger("auditor.web_server")

#: ``web_processes = 0`` (auto) never forks more than this many (each holds ~60 MB)
AUTO_MAX_PROCESSES = 8

#: seconds a stopping web process may take over its in-flight requests
GRACEFUL_S = 10


def default_processes() -> int:
    """``web_processes = 0`` (auto): one web process per CPU this process may use, for
    ``web`` and ``serve`` alike, at most ``AUTO_MAX_PROCESSES``.

    ``serve`` forks too: with one web process its dashboard and API share one core with the
    worker, which missed the load goal (p99 453 ms at 100 clients, 247 ms with two). The
    worker's histograms, rate limits and edits hold across the copies (shared memory).
    """
    return max(1, min(AUTO_MAX_PROCESSES, usable_cpus()))


def usable_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """CPUs this process may run on: its affinity mask, lowered by a cgroup v2 CPU quota
    (``docker run --cpus 2`` on a 64-core host means 2, not 64)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        with open(os.path.join(cgroup_root, "cpu.max")) as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max" and int(period) > 0:
            cpus = min(cpus, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def _freeze_heap() -> None:
    """The app, ORM metadata and pools built so far live as long as the process: keep them
    out of the collector's full passes, which otherwise walk them all during a cold
    /metrics scrape (~100 ms of CPU when one lands there)."""
    gc.collect()
    gc.freeze()


def _body_limit(app: Any) -> int:
    """Bodies past twice the app's own limit (or past an evidence upload's, which is larger)
    are refused before anyone buffers them."""
    evidence = int(app.config.get("EVIDENCE_MAX_BYTES") or 0) + 1024 * 1024
    return max(2 * int(app.config.get("MAX_CONTENT_LENGTH") or 1_000_000), evidence)


class RootRoutedLogger(glogging.Logger):
    """gunicorn's own messages go to the root logger's handler (JSON lines, redacted, see
    ``auditor.logging``) instead of gunicorn's handler with its own text format."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True


class WebServer:
    """One web process: waitress (plain HTTP) or werkzeug's threaded server (``tls_cert``)
    in a thread of the daemon."""

    def __init__(self, app: Any, host: str, port: int, tls: tuple[str, str] | None = None) -> None:
        self._tls = tls
        if tls:
            from werkzeug.serving import make_server

            self._server: Any = make_server(
                host, port, app, threaded=True, ssl_context=_tls_context(*tls)
            )
            self.port = int(self._server.socket.getsockname()[1])
        else:
            from waitress import create_server

            # waitress buffers up to 1 GB of request body (spooled to disk) before the app can
            # refuse it; cap it near the app's own limit so giant uploads are a 413 at once
            self._server = create_server(
                app,
                host=host,
                port=port,
                threads=16,
                ident="auditor",
                max_request_body_size=_body_limit(app),
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
        _freeze_heap()
        self._thread.start()

    def stop(self) -> None:
        if self._tls:
            self._server.shutdown()
        else:
            self._server.close()
        self._thread.join(timeout=5)


def _tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def _too_large(start_response: Callable[..., Any]) -> list[bytes]:
    body = b"Request Entity Too Large"
    start_response(
        "413 Request Entity Too Large",
        [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
    )
    return [body]


def refuse_large_bodies(app: Any, limit: int) -> Callable[..., Iterable[bytes]]:
    """A 413 for a body over ``limit`` before the app runs, as waitress's
    ``max_request_body_size`` gave one process (gunicorn has no body cap): a declared length
    is checked, a chunked body is read up to the cap and handed on with its length."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                return _too_large(start_response)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        else:
            with contextlib.suppress(ValueError):
                if int(environ.get("CONTENT_LENGTH") or 0) > limit:
                    return _too_large(start_response)
        result: Iterable[bytes] = app(environ, start_response)
        return result

    return guarded


def hold_port(host: str, port: int) -> socket.socket:
    """Bind (without listening, so it takes no connections) the port the workers' own
    ``SO_REUSEPORT`` sockets listen on: a busy port fails here, ``:0`` resolves once."""
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(info[4])
    return sock


class _Arbiter(Arbiter):  # type: ignore[misc]
    """gunicorn's master, telling a crash (logged) from its own shutdown."""

    stopping = False

    def stop(self, graceful: bool = True) -> None:
        self.stopping = True
        super().stop(graceful)


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Several web processes: gunicorn with the preloaded app and our hooks. ``run`` makes
    the caller the master (``web``); ``start_beside`` forks one beside ``serve``'s scheduler."""

    def __init__(
        self,
        app: Any,
        store: Database,
        host: str,
        port: int,
        processes: int,
        *,
        tls: tuple[str, str] | None = None,
        log_level: str = "info",
    ) -> None:
        self._app = refuse_large_bodies(app, _body_limit(app))
        self._store = store
        self._held = hold_port(host, port)
        self.port = int(self._held.getsockname()[1])
        where = f"[{host}]" if ":" in host else host
        self._options: dict[str, Any] = {
            "bind": f"{where}:{self.port}",
            "workers": processes,
            # measured against sync workers: more req/s and a lower p99 with 100 keep-alive
            # clients; 16 threads as waitress had
            "worker_class": "gthread",
            "threads": 16,
            "preload_app": True,
            "reuse_port": True,
            "graceful_timeout": GRACEFUL_S,
            "loglevel": log_level,
            "proc_name": "auditor-web",
            "logger_class": RootRoutedLogger,
            "post_fork": self._post_fork,
            "worker_exit": self._worker_exit,
            "child_exit": self._child_exit,
        }
        if tls:
            self._options |= {
                "certfile": tls[0],
                "keyfile": tls[1],
                "ssl_context": lambda _cfg, _default: _tls_context(*tls),
            }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # newer gunicorn opens a control socket under $HOME unless told not to
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        return self._app

    def _post_fork(self, _arbiter: Any, _worker: Any) -> None:
        # pooled connections were opened by the parent: never share them across processes
        self._store.engine.dispose(close=False)

    def _worker_exit(self, _arbiter: Any, _worker: Any) -> None:
        # the worker ends with os._exit, which skips atexit: write the stamps it still holds
        flush_pending(self._store)

    def _child_exit(self, arbiter: Any, worker: Any) -> None:
        if not arbiter.stopping:
            log.warning("web_process_exited", pid=worker.pid)

    def run(self) -> int:
        """Serve until SIGTERM (in-flight requests finish); the master's exit status."""
        _freeze_heap()
        master = os.getpid()
        try:
            _Arbiter(self).run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
            if os.getpid() != master:  # a worker returning through the master's frames
                os._exit(code)
            return code
        return 0

    def start_beside(self) -> MasterProcess:
        """Fork the master as a sibling of the caller (``serve``'s scheduler)."""
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _watch_parent(parent)
                code = self.run()
            finally:
                os._exit(code)
        self._held.close()
        return MasterProcess(pid)


def _watch_parent(parent: int) -> None:
    """A parent killed with SIGKILL must not leave the web processes holding the port."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        log.warning("web_master_orphaned")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class MasterProcess:
    """The gunicorn master forked beside ``serve``'s scheduler."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.status: int | None = None
        self.crashed = False

    def poll(self) -> bool:
        """Whether it has exited (reaped)."""
        if self.status is None:
            with contextlib.suppress(ChildProcessError):
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done == 0:
                    return False
                self.status = status
            self.status = -1 if self.status is None else self.status
        return True

    async def watch(self, stop: asyncio.Event) -> None:
        """Stop the daemon if the web server dies under it (a supervisor restarts both)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            if not stop.is_set() and self.poll():
                log.error("web_server_exited", pid=self.pid, status=self.status)
                self.crashed = True
                stop.set()

    def stop(self, timeout: float = GRACEFUL_S + 5) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL once ``timeout`` s have passed."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while not self.poll() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not self.poll():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
