"""Pure rendering of alert events: webhook body + signature, Slack, e-mail, Alertmanager."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
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


def slack_body(ev: Mapping[str, Any]) -> dict[str, Any]:
    """Slack incoming-webhook message: fallback ``text`` plus Block Kit blocks."""
    icon = ":white_check_mark:" if ev["status"] == "resolved" else ":rotating_light:"
    head = f"{icon} {title(ev)}"
    lines = finding_lines(ev)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_slack_escape(head)}*"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _slack_escape(
                        f"severity {ev.get('severity', '')} · {ev.get('environment', '')} · {ev['at']}"
                    ),
                }
            ],
        },
    ]
    if lines:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _slack_escape("\n".join(f"• {line}" for line in lines))[:2900],
                },
            }
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Open dashboard"},
                    "url": ev["url"],
                }
            ],
        }
    )
    return {"text": head, "blocks": blocks}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def email_message(ev: Mapping[str, Any], sender: str, to: Sequence[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[auditor] {title(ev)}"
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["X-Auditor-Alert-Id"] = str(ev["id"])
    lines = [
        title(ev),
        "",
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
    lines += ["", f"dashboard: {ev['url']}", ""]
    msg.set_content("\n".join(lines))
    return msg


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
