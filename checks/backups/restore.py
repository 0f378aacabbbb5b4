"""The restore-test receipt every mode reads: an attestation or a ``restore`` heartbeat.

A backup nobody has restored is a hope, not a backup; the receipt's age is what counts.
"""

from __future__ import annotations

from typing import Any

from checks.backups import heartbeat
from checks.backups.common import to_datetime
from checks.base import History


def receipt(history: History, service_id: str, item: str, heartbeat_id: str) -> dict[str, Any]:
    """Facts: newest restore success (``at``), where it came from, expiry, last drill failed."""
    best_at = None
    source = None
    expires_at = None
    att = history.attestation(service_id, item) if service_id else None
    if att:
        best_at = to_datetime(att.get("signed_at"))
        expires_at = to_datetime(att.get("expires_at"))
        source = "attestation"
    beats = heartbeat.summarize(history.heartbeats(heartbeat_id)) if heartbeat_id else {}
    failed = False
    last_ok = to_datetime(beats.get("last_success_at"))
    if last_ok is not None and (best_at is None or last_ok > best_at):
        best_at, source, expires_at = last_ok, "heartbeat", None
    if beats.get("last_completion") == "fail":
        failed_at = to_datetime(beats.get("last_completion_at"))
        failed = failed_at is not None and (best_at is None or failed_at > best_at)
    return {
        "at": best_at.isoformat() if best_at else None,
        "source": source,
        "expires_at": expires_at.isoformat() if expires_at else None,
        "last_drill_failed": failed,
    }
