"""The read-only view of the store that checks get through ``ctx.history``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.store import evidence, lookback
from auditor.store.db import Database
from checks.base import History


class StoreHistory(History):
    """``checks.base.History`` on top of the store's look-back queries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def previous_facts(self, check_id: str, limit: int = 1) -> list[Mapping[str, Any]]:
        return lookback.previous_facts(self._db, check_id, limit)

    def heartbeats(self, check_id: str, limit: int = 50) -> list[Mapping[str, Any]]:
        return lookback.heartbeats(self._db, check_id, limit)

    def attestation(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        return lookback.attestation(self._db, service_id, item)

    def evidence(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        return evidence.latest_evidence(self._db, service_id, item)

    def deployed_version(self, service_id: str) -> Mapping[str, Any] | None:
        return evidence.latest_deploy(self._db, service_id)
