"""Several web processes on one port (``web_processes``).

The GIL caps one Python process at one core, so the web half forks copies of itself (the
pre-fork model of gunicorn), each running the same waitress server as a single process does
on its own ``SO_REUSEPORT`` socket for the one port. The app is built once, before the fork.

What must agree across the copies lives in shared memory created before the fork:
the API rate-limit buckets and the login failure windows (a client is limited once, not
once per process), and the store's write generation (an edit made through one process
invalidates the read caches of all of them at once). Sessions live in the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import structlog

from auditor.store.db import Database
from auditor.store.lastuse import flush_pending

log = structlog.get_logger("auditor.prefork")

#: a child that dies sooner than this after its start is restarted only after a pause
_RESPAWN_PAUSE_S = 1.0


#: ``web_processes = 0`` (auto) never forks more than this many (each holds ~60 MB)
AUTO_MAX_PROCESSES = 8


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


def listen_socket(
    host: str, port: int, *, reuse_port: bool = False, listen: bool = True
) -> socket.socket:
    """A listening socket for ``host:port``.

    Several web processes each listen on their own ``SO_REUSEPORT`` socket: the kernel then
    spreads new connections evenly over them (one shared socket lets whichever process wakes
    first take most of a burst of clients: 76 / 24 of 100 keep-alive connections were
    measured). The parent binds one without listening (``listen=False``) to hold the port.
    """
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(info[0], socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(info[4])
    if listen:
        sock.listen(1024)
    sock.setblocking(False)
    return sock


# -- shared state -------------------------------------------------------------------------


def _key_hash(key: str) -> int:
    """A stable non-zero 63-bit hash (0 marks a free slot); identical in every process."""
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    return (h >> 1) or 1


class SharedTable:
    """Fixed-size open-addressing table in shared memory: ``width`` floats per key.

    Slots are split into stripes with a lock each (a key stays in its home stripe), so
    clients with different keys rarely wait for one another across processes. ``slot(key,
    free)`` finds the key's slot within ``probe`` places, else claims a free one (``free(row)``
    says a slot's state is as good as absent), else reuses the home slot.
    """

    def __init__(self, slots: int, width: int, probe: int = 16, stripes: int = 64) -> None:
        self.stripe_size = max(probe, slots // stripes)
        self.stripes = max(1, slots // self.stripe_size)
        self.slots = self.stripes * self.stripe_size
        self.width, self.probe = width, probe
        self.keys = multiprocessing.RawArray("q", self.slots)
        self.values = multiprocessing.RawArray("d", self.slots * width)
        self.locks = [multiprocessing.Lock() for _ in range(self.stripes)]

    def lock(self, key: str) -> Any:
        """The lock of the key's stripe: hold it around ``find`` / ``slot`` and the update."""
        return self.locks[(_key_hash(key) % self.slots) // self.stripe_size]

    def _probes(self, h: int) -> Iterator[int]:
        home = h % self.slots
        base = home - home % self.stripe_size
        for k in range(self.probe):
            yield base + (home - base + k) % self.stripe_size

    def row(self, i: int) -> list[float]:
        return list(self.values[i * self.width : (i + 1) * self.width])

    def set_row(self, i: int, values: list[float]) -> None:
        self.values[i * self.width : (i + 1) * self.width] = values

    def find(self, key: str) -> int | None:
        """The key's slot, or None."""
        h = _key_hash(key)
        return next((i for i in self._probes(h) if self.keys[i] == h), None)

    def slot(self, key: str, free: Callable[[list[float]], bool]) -> tuple[int, bool]:
        """(index, found); a claimed slot is not yet initialised."""
        h = _key_hash(key)
        reuse = -1
        for i in self._probes(h):
            if self.keys[i] == h:
                return i, True
            if reuse < 0 and (self.keys[i] == 0 or free(self.row(i))):
                reuse = i
        i = h % self.slots if reuse < 0 else reuse
        self.keys[i] = h
        return i, False

    def clear(self, key: str) -> None:
        with self.lock(key):
            i = self.find(key)
            if i is not None:
                self.keys[i] = 0


def shared_rate_limiter(limit: int, window_s: float, slots: int = 65_536) -> Any:
    """The API's token-bucket limiter (``web.api.auth.RateLimiter``) with shared buckets."""
    from web.api.auth import RateLimiter

    class SharedRateLimiter(RateLimiter):
        def __init__(self) -> None:
            super().__init__(limit, window_s)
            self.table = SharedTable(slots, 2)  # tokens, stamp

        def hit(self, key: str, now: float | None = None) -> tuple[bool, dict[str, str]]:
            now = time.monotonic() if now is None else now
            t = self.table

            def full(row: list[float]) -> bool:
                return row[0] + (now - row[1]) * self.rate >= self.limit

            with t.lock(key):
                i, found = t.slot(key, full)
                tokens, stamp = t.row(i) if found else (float(self.limit), now)
                allowed, tokens = self.take(tokens, stamp, now)
                t.set_row(i, [tokens, now])
            return allowed, self.headers(allowed, tokens)

    return SharedRateLimiter()


def shared_login_limiter(limit: int = 5, window_s: float = 900.0, slots: int = 16_384) -> Any:
    """A dashboard failed-login window (``web.throttle.LoginLimiter``) in shared memory."""
    from web.throttle import LoginLimiter

    class SharedLoginLimiter(LoginLimiter):
        def __init__(self) -> None:
            super().__init__(limit, window_s)
            self.table = SharedTable(slots, limit)  # the last ``limit`` failure times

        def _recent(self, row: list[float], now: float) -> list[float]:
            return sorted(x for x in row if x > 0 and now - x <= self.window_s)

        def retry_after(self, key: str, now: float | None = None) -> int:
            now = time.monotonic() if now is None else now
            with self.table.lock(key):
                i = self.table.find(key)
                recent = [] if i is None else self._recent(self.table.row(i), now)
            if len(recent) < self.limit:
                return 0
            return max(1, int(self.window_s - (now - recent[0])) + 1)

        def fail(self, key: str, now: float | None = None) -> None:
            now = time.monotonic() if now is None else now
            with self.table.lock(key):
                i, found = self.table.slot(key, lambda row: not self._recent(row, now))
                recent = self._recent(self.table.row(i), now) if found else []
                recent = [*recent, now][-self.limit :]
                self.table.set_row(i, recent + [0.0] * (self.limit - len(recent)))

        def reset(self, key: str) -> None:
            self.table.clear(key)

    return SharedLoginLimiter()


class _SharedGenerationStore(Database):
    """A store whose write generation is one counter shared by every forked process."""

    _shared_generation: Any

    @property  # type: ignore[override]
    def generation(self) -> int:
        return int(self._shared_generation.value)

    @generation.setter
    def generation(self, _value: int) -> None:
        # ``Database.write`` does ``generation += 1``: any assignment is one atomic increment
        with self._shared_generation.get_lock():
            self._shared_generation.value += 1


def share_generation(store: Database) -> None:
    """Make ``store.generation`` a cross-process counter (call before forking)."""
    counter = multiprocessing.Value("q", int(store.generation))
    store.__class__ = _SharedGenerationStore
    store.__dict__.pop("generation", None)
    store._shared_generation = counter  # type: ignore[attr-defined]


def share_app_state(app: Any, store: Database) -> None:
    """Everything the web processes must agree on, in shared memory (call before forking)."""
    app.extensions["auditor.api.ratelimiter"] = shared_rate_limiter(
        int(app.config.get("API_RATE_LIMIT", 300)), float(app.config.get("API_RATE_WINDOW", 60.0))
    )
    from web import throttle

    # failed sign-ins per account (any source) and per source (any account)
    app.extensions[throttle.ACCOUNT_KEY] = shared_login_limiter(
        throttle.ACCOUNT_LIMIT, throttle.WINDOW_S
    )
    app.extensions[throttle.SOURCE_KEY] = shared_login_limiter(
        throttle.SOURCE_LIMIT, throttle.WINDOW_S
    )
    share_generation(store)


# -- processes ----------------------------------------------------------------------------


class WebProcesses:
    """Forks ``n`` children that each run ``serve(stop)`` until SIGTERM; restarts the dead."""

    def __init__(self, n: int, serve: Callable[[threading.Event], None], store: Database) -> None:
        self.n = n
        self._serve = serve
        self._store = store
        self.children: dict[int, float] = {}  # pid -> started (monotonic)
        self._respawn_at: list[float] = []
        self.stopping = False

    def start(self) -> None:
        for _ in range(self.n):
            self._spawn()

    def _spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                self._child()
            except BaseException as exc:
                log.error("web_process_failed", error=repr(exc))
                code = 1
            finally:
                flush_pending(self._store)
                os._exit(code)
        self.children[pid] = time.monotonic()

    def _child(self) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        parent = os.getppid()

        def orphaned() -> None:  # a parent killed with SIGKILL must not leave us holding the port
            while not stop.wait(1.0):
                if os.getppid() != parent:
                    log.warning("web_process_orphaned")
                    stop.set()

        threading.Thread(target=orphaned, name="parent-watch", daemon=True).start()
        # pooled connections were opened by the parent: never share them across processes
        self._store.engine.dispose(close=False)
        self._serve(stop)

    async def supervise(self, stop: Any) -> None:
        """Reap and replace children until ``stop`` (an ``asyncio.Event``) is set."""
        import asyncio

        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            self.stopping = self.stopping or stop.is_set()
            self.reap()

    def reap(self) -> None:
        """Collect exited children and, unless stopping, start replacements (a child that
        died young is replaced only after a pause, so a crash loop does not spin)."""
        now = time.monotonic()
        for pid, started in list(self.children.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, -1
            if done == 0:
                continue
            del self.children[pid]
            if not self.stopping:
                log.warning("web_process_exited", pid=pid, status=status)
                young = now - started < _RESPAWN_PAUSE_S
                self._respawn_at.append(now + (_RESPAWN_PAUSE_S if young else 0.0))
        while self._respawn_at and not self.stopping and self._respawn_at[0] <= now:
            self._respawn_at.pop(0)
            self._spawn()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.children and time.monotonic() < deadline:
            self.reap()
            if self.children:
                time.sleep(0.05)
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self.children.pop(pid, None)
