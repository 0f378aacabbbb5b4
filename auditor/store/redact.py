"""What an audit row may say about a value: secrets become ``***``, never their plaintext.

Reuses :mod:`auditor.store.secrets`' notion of a secret (option names like ``*_token``,
``password``, ``dsn``; credential headers; URLs with a password or a token-like query) and
adds the model columns that hold secrets or their hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from auditor.store.secrets import is_secret_header, is_secret_key, url_has_secret

MASK = "***"

#: columns that hold a secret, its ciphertext or its hash: shown as changed, never as values
SECRET_COLUMNS = frozenset(
    {
        "password",
        "password_hash",
        "token",
        "token_hash",
        "totp_secret",
        "recovery_codes",
        "secret_options",
        "heartbeat_token",
        "csrf_token",
    }
)


def _secret_name(key: str) -> bool:
    return key in SECRET_COLUMNS or is_secret_key(key)


def redact(key: str, value: Any, *, header: bool = False) -> Any:
    """``value`` (of field ``key``) with every secret part replaced by ``***``."""
    if value is None:
        return None
    if _secret_name(key) or (header and is_secret_header(key, value)):
        return MASK
    if isinstance(value, Mapping):
        inner = key == "headers"
        return {str(k): redact(str(k), v, header=inner) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact("", v) for v in value]
    if isinstance(value, str):
        return MASK if url_has_secret(value) else value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (bool, int, float)):
        return value
    return str(value)


def redact_changes(changes: Mapping[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` with both sides redacted."""
    return {k: [redact(k, old), redact(k, new)] for k, (old, new) in changes.items()}
