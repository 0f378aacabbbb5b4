"""Fixtures: a temporary SQLite store and a discoverer whose clock the test moves."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.config import Config, parse_config
from auditor.discovery import Discoverer
from auditor.probe.http import HttpProber
from auditor.store.db import Database
from auditor.store.models import Service


@pytest.fixture
def store(db_url: str) -> Iterator[Database]:
    """The store on SQLite and on PostgreSQL (a fresh schema per test)."""
    st = Database(db_url)
    yield st
    st.close()


def write_targets(path: Path, groups: Any, *, yaml: bool = False) -> None:
    """Write a target file and move its mtime on (a rewrite within one second still shows)."""
    if yaml:
        import yaml as pyyaml

        path.write_text(pyyaml.safe_dump(groups))
    else:
        path.write_text(json.dumps(groups))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def make_config(*sources: dict[str, Any], services: list[dict[str, Any]] | None = None) -> Config:
    return parse_config({"discovery": list(sources), "services": services or []}, environ={})


class Driver:
    """Runs discovery passes like the daemon's job, with a clock the test moves."""

    def __init__(self, config: Config, store: Database) -> None:
        self.now = 0.0
        self.loop = asyncio.new_event_loop()
        self.prober = HttpProber(config.auditor.address_policy())
        self.discoverer = Discoverer(config, store, self.prober, clock=lambda: self.now)
        self.store = store

    def tick(self, advance: float = 3600.0) -> dict[str, int] | None:
        self.now += advance
        return self.loop.run_until_complete(self.discoverer.tick())

    def close(self) -> None:
        self.loop.run_until_complete(self.prober.aclose())
        self.loop.close()

    def services(self, *, include_archived: bool = False) -> dict[str, Service]:
        from auditor.store.catalog import services_by_name

        with self.store.read() as s:
            rows = services_by_name(s)
        return {n: r for n, r in rows.items() if include_archived or r.deleted_at is None}


@pytest.fixture
def driver(store: Database) -> Iterator[Any]:
    made: list[Driver] = []

    def make(*sources: dict[str, Any], services: list[dict[str, Any]] | None = None) -> Driver:
        made.append(Driver(make_config(*sources, services=services), store))
        return made[-1]

    yield make
    for one in made:
        one.close()
