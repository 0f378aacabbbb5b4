"""What gunicorn's web processes (``web_processes`` > 1) must agree on, in shared memory.

The app is built once and the memory made before gunicorn forks its workers, which inherit
it: the API rate-limit buckets and the login failure windows (a client is limited once, not
once per process), the store's write generation (an edit made through one process
invalidates the read caches of all of them at once) and the worker's histograms (the
scheduler runs outside the web processes). Sessions live in the database.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from auditor.store.db import Database

if TYPE_CHECKING:
    from auditor.schedule.worker import Worker


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
