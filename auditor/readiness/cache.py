"""One whole-fleet readiness evaluation shared by the read paths (overview, ``/metrics``),
invalidated by this process's own writes (``Database.generation``) or after a few seconds;
see :func:`load_all_readiness_cached`."""

from __future__ import annotations

import threading
import time
import weakref
from datetime import datetime

from auditor.readiness.model import ServiceReadiness
from auditor.readiness.queries import CheckFacts, load_all_readiness, load_fleet
from auditor.store.db import Database

#: how long the read paths (overview, /metrics) may reuse one whole-fleet evaluation
SNAPSHOT_TTL_S = 5.0
_snapshot_lock = threading.Lock()
_snapshots: weakref.WeakKeyDictionary[Database, tuple[float, int, dict[str, ServiceReadiness]]] = (
    weakref.WeakKeyDictionary()
)


def load_all_readiness_cached(
    store: Database, now: datetime, *, ttl_s: float = SNAPSHOT_TTL_S
) -> dict[str, ServiceReadiness]:
    """:func:`load_all_readiness` shared between concurrent readers of the whole fleet.

    The overview and every scrape need the whole fleet; with 1,000 services one evaluation
    costs a few hundred ms, so browsers and scrapers share one (single-flight: the others
    wait for the one computing). A foreground write in this process (an edit, a sign-off,
    "run now") invalidates it at once; scheduled results reach it within ``ttl_s``.
    """
    return _fleet_cached(store, now, ttl_s, with_facts=False)[0]


def load_fleet_cached(
    store: Database, now: datetime, *, ttl_s: float = SNAPSHOT_TTL_S
) -> tuple[dict[str, ServiceReadiness], list[CheckFacts] | None]:
    """The shared fleet evaluation (see :func:`load_all_readiness_cached`), with the check
    facts of :func:`load_fleet` when it was evaluated anew for this call, else ``None``."""
    return _fleet_cached(store, now, ttl_s, with_facts=True)


def _fleet_cached(
    store: Database, now: datetime, ttl_s: float, *, with_facts: bool
) -> tuple[dict[str, ServiceReadiness], list[CheckFacts] | None]:
    with _snapshot_lock:
        hit = _snapshots.get(store)
        if hit is not None and hit[1] == store.generation and time.monotonic() - hit[0] < ttl_s:
            return hit[2], None
        generation = store.generation
        facts: list[CheckFacts] | None = None
        if with_facts:
            value, facts = load_fleet(store, now)
        else:
            value = load_all_readiness(store, now)
        _snapshots[store] = (time.monotonic(), generation, value)
        return value, facts
