"""Populate a real store with runs (sync_config → claim_due → complete)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.schedule.rules import COMPLETION_RULES
from auditor.schedule.runner import RunResult
from auditor.store.claims import Claim, claim_due
from auditor.store.db import Database
from auditor.store.runs import complete
from checks.base import RunStatus

IN_CI = os.environ.get("CI") == "true"
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def require_tool(name: str) -> str:
    """Path of a Prometheus tool; skip without it, except in CI where it must be there."""
    path = shutil.which(name)
    if path:
        return path
    if IN_CI:
        pytest.fail(f"{name} is required in CI (Debian package 'prometheus') but is missing")
    pytest.skip(f"{name} not installed (apt-get install prometheus)")


def make_store(url: str, services: Sequence[Mapping[str, Any]], now: datetime = T0) -> Database:
    store = Database(url)
    sync_config(store, parse_config({"services": list(services)}, environ={}), now=now)
    return store


def claims(store: Database, now: datetime) -> dict[tuple[str, str], Claim]:
    """Every due check, leased, keyed by (service, check)."""
    got = claim_due(store, "test-worker", now, 10_000, 60.0)
    return {(c.target.service, c.target.check): c for c in got}


def result(
    claim: Claim,
    status: str,
    at: datetime,
    *,
    facts: dict[str, Any] | None = None,
    duration_ms: float = 125.0,
) -> RunResult:
    return RunResult(
        target=claim.target,
        status=RunStatus(status),
        summary=f"{status} for test",
        findings=[],
        facts=facts or {},
        started_at=at,
        duration_ms=duration_ms,
        error="boom" if status == "error" else None,
        error_kind="timeout" if status == "error" else None,
    )


def run_round(
    store: Database,
    now: datetime,
    statuses: Mapping[tuple[str, str], str],
    facts: Mapping[tuple[str, str], dict[str, Any]] | None = None,
) -> None:
    """One run for each (service, check) in ``statuses`` (all must be due at ``now``)."""
    due = claims(store, now)
    items = [
        (due[key], result(due[key], status, now, facts=(facts or {}).get(key)))
        for key, status in statuses.items()
    ]
    complete(store, COMPLETION_RULES, items, "test-worker", now=now)


def run_rounds(
    store: Database,
    start: datetime,
    statuses: Mapping[tuple[str, str], str],
    rounds: int,
    step: timedelta = timedelta(minutes=5),
    facts: Mapping[tuple[str, str], dict[str, Any]] | None = None,
) -> datetime:
    """``rounds`` consecutive runs (checks must have a 5m interval); returns the last time."""
    at = start
    for i in range(rounds):
        at = start + i * step
        run_round(store, at, statuses, facts)
    return at
