"""Standard Webhooks headers (standardwebhooks.com): id, timestamp, and a signature over both.

``X-Auditor-Signature`` signs the body alone, so a captured delivery can be replayed forever.
Here the signature covers ``{webhook-id}.{webhook-timestamp}.{body}``: a receiver rejects
stale timestamps and de-duplicates on the id (the alert's ``id``, the same on every retry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from auditor.config.webhook_secret import signing_key


def standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def standard_headers(
    msg_id: str, timestamp: int, body: bytes, secret: str | None
) -> dict[str, str]:
    """The three headers (no ``webhook-signature`` for an explicitly unsigned receiver).

    ValueError when ``secret`` is a malformed ``whsec_`` value (refused at load already).
    """
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secret:
        key = signing_key(secret)
        headers["webhook-signature"] = standard_signature(key, msg_id, timestamp, body)
    return headers
