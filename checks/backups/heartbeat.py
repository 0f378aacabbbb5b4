"""``heartbeat`` mode: backup jobs ping the auditor; healthchecks.io semantics, pure.

Records come from ``History.heartbeats`` newest first:
``{"kind": "start"|"success"|"fail"|"exit", "exit_code": int|None, "at": datetime}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from checks.backups.common import to_datetime


def is_failure(record: Mapping[str, Any]) -> bool:
    kind = record.get("kind")
    return kind == "fail" or (kind == "exit" and (record.get("exit_code") or 0) != 0)


def summarize(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Facts from the ping history: last success, last completion, an unfinished start."""
    rows = sorted(
        ((to_datetime(r.get("at")), r) for r in records if to_datetime(r.get("at")) is not None),
        key=lambda p: p[0],  # type: ignore[arg-type,return-value]
        reverse=True,
    )
    facts: dict[str, Any] = {
        "pings": len(rows),
        "last_ping_at": None,
        "last_success_at": None,
        "last_completion": None,
        "last_completion_at": None,
        "last_exit_code": None,
        "started_at": None,
    }
    if not rows:
        return facts
    facts["last_ping_at"] = _iso(rows[0][0])
    for at, r in rows:
        if r.get("kind") == "start":
            if facts["last_completion"] is None and facts["started_at"] is None:
                facts["started_at"] = _iso(at)  # a run started after the last completion
            continue
        if facts["last_completion"] is None:
            facts["last_completion"] = "fail" if is_failure(r) else "success"
            facts["last_completion_at"] = _iso(at)
            facts["last_exit_code"] = r.get("exit_code")
        if not is_failure(r) and facts["last_success_at"] is None:
            facts["last_success_at"] = _iso(at)
        if facts["last_success_at"] is not None:
            break
    return facts


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
