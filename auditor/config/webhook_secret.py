"""Webhook signing keys: how a configured secret becomes HMAC key bytes, checked at load.

Standard Webhooks (standardwebhooks.com) secrets are written ``whsec_<base64>``; such a
secret is base64-decoded and its bytes are the key. Any other secret is used as its UTF-8
bytes. A webhook receiver refuses to start without its secret unless it says
``unsigned = true`` — an unsigned alert is forgeable, so that must be a visible choice.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from auditor.config.alerting import AlertingModel

WHSEC_PREFIX = "whsec_"


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret``; ValueError (naming no secret value) when it is unusable."""
    if not secret.startswith(WHSEC_PREFIX):
        return secret.encode()
    encoded = secret[len(WHSEC_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a whsec_ secret must be whsec_ followed by base64") from exc
    if not key:
        raise ValueError("a whsec_ secret must not be empty after whsec_")
    return key


def secret_problems(alerting: AlertingModel, environ: Mapping[str, str]) -> list[str]:
    """One problem per webhook receiver whose secret is unset, empty or malformed."""
    problems = []
    for index, rcv in enumerate(alerting.receivers):
        if rcv.type != "webhook" or not rcv.secret_env:
            continue
        path = f"alerting.receivers[{index}].secret_env"
        value = environ.get(rcv.secret_env, "")
        if not value:
            problems.append(
                f"{path}: environment variable {rcv.secret_env} (HMAC key of webhook "
                f"{rcv.name!r}) is not set or empty — set it, or set unsigned = true to send "
                "unsigned"
            )
            continue
        try:
            signing_key(value)
        except ValueError as exc:
            problems.append(f"{path}: {rcv.secret_env}: {exc}")
    return problems
