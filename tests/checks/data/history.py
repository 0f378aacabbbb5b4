"""A fake History for tests: canned previous facts, heartbeats and attestations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.base import History


class FakeHistory(History):
    def __init__(
        self,
        previous: dict[str, list[Mapping[str, Any]]] | None = None,
        heartbeats: dict[str, list[Mapping[str, Any]]] | None = None,
        attestations: dict[tuple[str, str], Mapping[str, Any]] | None = None,
    ) -> None:
        self.previous = previous or {}
        self.beats = heartbeats or {}
        self.attestations = attestations or {}

    def previous_facts(self, check_id: str, limit: int = 1) -> list[Mapping[str, Any]]:
        return self.previous.get(check_id, [])[:limit]

    def heartbeats(self, check_id: str, limit: int = 50) -> list[Mapping[str, Any]]:
        return self.beats.get(check_id, [])[:limit]

    def attestation(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        return self.attestations.get((service_id, item))
