"""The discovery job: read each source when its ``refresh`` is due, sync when anything changed.

Files are polled by modification time and size (cheap ``stat`` calls; a file is re-parsed
only when either changed), endpoints are fetched every ``refresh``. Every pass hands the
sync the *whole* picture — the last read of every file and endpoint — so a file that is
gone archives its services while an endpoint that is down keeps its last good answer.
The store is written only when some read changed (and once at start).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable

import structlog

from auditor.config import Config
from auditor.config.discovery import DiscoveryModel
from auditor.discovery.readers import SourceRead, read_file, read_http, source_files
from auditor.discovery.sync import sync_discovered
from auditor.probe.http import HttpProber
from auditor.store.db import Database

log = structlog.get_logger("auditor.discovery")

#: seconds between two looks at which source is due
TICK_S = 1.0

FileKey = tuple[int, int]  # (mtime_ns, size)


class Discoverer:
    """The sources of one configuration and what each listed at its last read."""

    def __init__(
        self,
        config: Config,
        store: Database,
        prober: HttpProber,
        clock: Callable[[], float] = time.monotonic,
        *,
        archive: bool = True,
    ) -> None:
        self.archive = archive
        self.config = config
        self.store = store
        self.prober = prober
        self.clock = clock
        self._due = [0.0 for _ in config.discovery]
        self._files: list[dict[str, tuple[FileKey, SourceRead]]] = [{} for _ in config.discovery]
        self._http: list[SourceRead | None] = [None for _ in config.discovery]
        self._last_good: dict[str, SourceRead] = {}
        self._dirty = True  # a sync is owed (at start, and after a failed one)
        self._missing: set[str] = set()  # named files found missing (warned once)

    @property
    def _allowlist(self) -> list[str]:
        return self.config.security.api_env_allowlist

    def _refresh_files(self, index: int, source: DiscoveryModel) -> bool:
        """Re-read the files that changed; True when the set of files or a file changed."""
        before = self._files[index]
        now: dict[str, tuple[FileKey, SourceRead]] = {}
        changed = False
        missing: list[str] = []
        files = source_files(source, missing)
        for path in missing:
            if not self._seen_missing(path) or path in before:
                log.warning("discovery_file_missing", type=source.type, file=path)
        for path in files:
            try:
                st = os.stat(path)
            except OSError:
                continue
            key = (st.st_mtime_ns, st.st_size)
            old = before.get(path)
            if old is not None and old[0] == key:
                now[path] = old
                continue
            read = read_file(path, source, self.config.auditor, self._allowlist)
            _report(read)
            now[path] = (key, read)
            changed = True
        changed = changed or set(now) != set(before)
        self._files[index] = now
        return changed

    def _seen_missing(self, path: str) -> bool:
        """True when ``path`` was already reported missing (a warning once, not every tick)."""
        seen = path in self._missing
        self._missing.add(path)
        return seen

    async def _refresh_http(self, index: int, source: DiscoveryModel) -> bool:
        read = await read_http(source, self.prober, self.config.auditor, self._allowlist)
        _report(read)
        if not read.complete:
            # keep serving the last good answer, like Prometheus: nothing is archived
            good = self._last_good.get(read.ref)
            if good is not None:
                read.services = list(good.services)
        else:
            self._last_good[read.ref] = read
        old = self._http[index]
        self._http[index] = read
        return old is None or _fingerprint(old) != _fingerprint(read)

    def reads(self) -> list[SourceRead]:
        """The last read of every file and endpoint, in configuration order."""
        out: list[SourceRead] = []
        for index in range(len(self.config.discovery)):
            out.extend(read for _key, read in self._files[index].values())
            http = self._http[index]
            if http is not None:
                out.append(http)
        return out

    async def tick(self) -> dict[str, int] | None:
        """Refresh the sources that are due; sync when something changed. Returns the
        sync's counts, or None when nothing was written."""
        now = self.clock()
        changed = False
        for index, source in enumerate(self.config.discovery):
            if now < self._due[index]:
                continue
            self._due[index] = now + source.refresh_s
            if source.type == "http_sd":
                changed |= await self._refresh_http(index, source)
            else:
                changed |= await asyncio.to_thread(self._refresh_files, index, source)
        self._dirty |= changed
        if not self._dirty:
            return None
        counts = await asyncio.to_thread(
            lambda: sync_discovered(self.store, self.reads(), archive=self.archive)
        )
        self._dirty = False
        if any(counts.values()):
            log.info("discovery_synced", **counts)
        return counts

    async def run(self, stop: asyncio.Event) -> None:
        """The daemon's job: a pass at start, then one per tick until ``stop``."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # a store hiccup: the next tick tries again
                log.error("discovery_failed", error=repr(exc))
            if not self.config.discovery and not self._dirty:
                return  # no sources: the start-up pass archived any left from earlier ones
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=TICK_S)


def _fingerprint(read: SourceRead) -> tuple[object, ...]:
    return (tuple(read.services), tuple(read.problems))


def _report(read: SourceRead) -> None:
    """One error line per problem, naming the file or URL (only when it is (re)read)."""
    for problem in read.problems:
        log.error("discovery_error", type=read.type, file=read.ref, error=problem)


async def discover_once(
    config: Config, store: Database, *, archive: bool = True
) -> dict[str, int] | None:
    """One pass over every source (the demo's start; ``audit`` with ``archive=False``)."""
    prober = HttpProber(config.auditor.address_policy())
    try:
        return await Discoverer(config, store, prober, archive=archive).tick()
    finally:
        await prober.aclose()
