"""Pure rendering of alert events: webhook body + signature, Apprise message, Alertmanager."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

WEBHOOK_SCHEMA = "auditor.alert/v1"
#: keys of the webhook body (DESIGN §7 contract), in order
WEBHOOK_KEYS = (
    "schema",
    "id",
    "status",
    "service",
    "check",
    "kind",
    "state",
    "previous_state",
    "findings",
    "at",
    "url",
)


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def event(
    *,
    id: str,
    status: str,
    service: str,
    check: str,
    kind: str,
    state: str,
    previous_state: str,
    findings: Sequence[Mapping[str, Any]],
    at: datetime,
    url: str,
    severity: str = "high",
    environment: str = "",
    summary: str = "",
    purpose: str = "notify",
    check_id: str = "",
    service_id: str = "",
) -> dict[str, Any]:
    """The stored payload of one delivery: the contract body plus a few rendering extras."""
    return {
        "schema": WEBHOOK_SCHEMA,
        "id": id,
        "status": status,
        "service": service,
        "check": check,
        "kind": kind,
        "state": state,
        "previous_state": previous_state,
        "findings": [dict(f) for f in findings],
        "at": rfc3339(at),
        "url": url,
        "severity": severity,
        "environment": environment,
        "summary": summary,
        "purpose": purpose,
        "check_id": check_id,
        "service_id": service_id,
    }


def webhook_body(ev: Mapping[str, Any]) -> bytes:
    """The generic webhook body: exactly the contract keys, compact JSON."""
    return json.dumps({k: ev[k] for k in WEBHOOK_KEYS}, separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    """``X-Auditor-Signature`` value: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    return hmac.compare_digest(signature(body, secret), header)


def title(ev: Mapping[str, Any]) -> str:
    what = f"{ev['service']}/{ev['check']}"
    if ev["status"] == "resolved":
        return f"RESOLVED {what} is {ev['state']} (was {ev['previous_state']})"
    prefix = "REMINDER " if str(ev.get("purpose", "")).startswith("reminder") else ""
    return f"{prefix}{str(ev['state']).upper()} {what} ({ev['kind']}, was {ev['previous_state']})"


def finding_lines(ev: Mapping[str, Any], limit: int = 10) -> list[str]:
    out = [
        f"[{f.get('severity', '?')}] {f.get('code', '?')}: {f.get('message', '')}"
        for f in list(ev.get("findings") or [])[:limit]
    ]
    extra = len(ev.get("findings") or []) - limit
    if extra > 0:
        out.append(f"… and {extra} more finding{'s' if extra > 1 else ''}")
    return out


def notification(ev: Mapping[str, Any]) -> tuple[str, str, str]:
    """``(title, body, kind)`` of the message every Apprise service gets (Slack, e-mail, …).

    Plain text (each service formats it its own way); ``kind`` is Apprise's notify type, which
    services show as a colour or icon. The alert id is in the body, so a person can tell a
    retried message from a new one.
    """
    lines = [
        f"service:  {ev['service']} ({ev.get('environment', '')})",
        f"check:    {ev['check']} ({ev['kind']}, severity {ev.get('severity', '')})",
        f"state:    {ev['state']} (was {ev['previous_state']})",
        f"at:       {ev['at']}",
    ]
    if ev.get("summary"):
        lines.append(f"summary:  {ev['summary']}")
    findings = finding_lines(ev, limit=50)
    if findings:
        lines += ["", "findings:"] + [f"  - {line}" for line in findings]
    lines += ["", f"dashboard: {ev['url']}", f"alert id:  {ev['id']}"]
    if ev["status"] == "resolved":
        kind = "success"
    elif ev["state"] == "warn":
        kind = "warning"
    else:
        kind = "failure"
    return f"[auditor] {title(ev)}", "\n".join(lines), kind


def alertmanager_alerts(ev: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Alertmanager ``POST /api/v2/alerts`` body (a list of postableAlert)."""
    labels = {
        "alertname": "AuditorCheckFailing",
        "service": str(ev["service"]),
        "check": str(ev["check"]),
        "kind": str(ev["kind"]),
        "severity": str(ev.get("severity") or "high"),
    }
    if ev.get("environment"):
        labels["environment"] = str(ev["environment"])
    findings = finding_lines(ev)
    alert: dict[str, Any] = {
        "labels": labels,
        "annotations": {
            "summary": title(ev),
            "description": "\n".join(findings) or str(ev.get("summary") or ""),
            "state": str(ev["state"]),
            "previous_state": str(ev["previous_state"]),
            "alert_id": str(ev["id"]),
        },
        "startsAt": ev["at"],
        "generatorURL": ev["url"],
    }
    if ev["status"] == "resolved":
        alert["endsAt"] = ev["at"]
    return [alert]
