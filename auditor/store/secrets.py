"""Secrets at rest (DESIGN §8): Fernet under ``AUDITOR_SECRET_KEY``, rotation via MultiFernet.

``AUDITOR_SECRET_KEY`` holds one or more comma-separated Fernet keys. New values are
encrypted with the first key; any listed key decrypts. Rotation: prepend a new key, run
``auditor secrets rotate`` (re-encrypts every stored secret under the first key, keeping the
original timestamps), then drop the old key once nothing uses it.

Check options that carry a secret (a DSN, a URL with credentials, an ``Authorization``
header, ``*_secret`` / ``*_token`` / ``*_password`` keys) are split out of the plain
``options`` column into ``check_def.secret_options`` (a Fernet token of a JSON object) and
only ever shown redacted. ``reveal_options`` merges them back for the process that runs the
check.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENV_KEY = "AUDITOR_SECRET_KEY"
REDACTED = "********"

_SECRET_KEY_NAME = re.compile(
    r"(^|[_-])(dsn|password|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|"
    r"credentials?|auth)$",
    re.IGNORECASE,
)
_SECRET_HEADER = re.compile(
    r"^(authorization|proxy-authorization|cookie|x-api-key|x-auth-token)$|token|secret|api-?key",
    re.IGNORECASE,
)
_SECRET_QUERY = re.compile(r"token|secret|key|password|sig|signature|auth", re.IGNORECASE)


class SecretKeyMissing(RuntimeError):
    """A secret must be stored or read but ``AUDITOR_SECRET_KEY`` is not set."""


class SecretUndecryptable(RuntimeError):
    """A stored secret does not decrypt under any configured key."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _keys(value: str | None) -> list[str]:
    return [k.strip() for k in (value or "").split(",") if k.strip()]


def cipher(environ: Mapping[str, str] | None = None, keys: str | None = None) -> MultiFernet:
    """The MultiFernet for the configured keys (first key encrypts)."""
    environ = os.environ if environ is None else environ
    raw = _keys(keys if keys is not None else environ.get(ENV_KEY))
    if not raw:
        raise SecretKeyMissing(f"{ENV_KEY} is not set; it is needed to store secrets")
    try:
        return MultiFernet([Fernet(k.encode()) for k in raw])
    except (ValueError, TypeError) as exc:
        raise SecretKeyMissing(
            f"{ENV_KEY} must hold comma-separated Fernet keys (32 url-safe base64 bytes)"
        ) from exc


def encrypt_json(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    return cipher(environ).encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def decrypt_json(token: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        data = json.loads(cipher(environ).decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretUndecryptable(
            "stored secret does not decrypt under AUDITOR_SECRET_KEY"
        ) from exc
    return dict(data) if isinstance(data, dict) else {}


def rotate_token(token: str, environ: Mapping[str, str] | None = None) -> str:
    """Re-encrypt under the first key (MultiFernet.rotate keeps the original timestamp)."""
    try:
        return cipher(environ).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUndecryptable(
            "stored secret does not decrypt under AUDITOR_SECRET_KEY"
        ) from exc


# -- which option values are secrets ------------------------------------------------------


def is_secret_key(key: str) -> bool:
    return not key.endswith("_env") and bool(_SECRET_KEY_NAME.search(key))


def url_has_secret(value: str) -> bool:
    """A URL carrying credentials: a password in the userinfo or a token-like query item."""
    if "://" not in value:
        return False
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return False
    if password:
        return True
    return any(_SECRET_QUERY.search(k) for k, _ in parse_qsl(parts.query))


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split check options into (plain, secret). Header tables are split per header."""
    plain: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for key, value in options.items():
        if key == "headers" and isinstance(value, Mapping):
            keep = {h: v for h, v in value.items() if not _secret_header(h, v)}
            hidden = {h: v for h, v in value.items() if _secret_header(h, v)}
            plain[key] = keep
            if hidden:
                secret[key] = hidden
        elif (is_secret_key(key) and value not in (None, "")) or (
            isinstance(value, str) and url_has_secret(value)
        ):
            secret[key] = value
        else:
            plain[key] = value
    return plain, secret


def _secret_header(name: str, value: Any) -> bool:
    return is_secret_header(name, value)


def is_secret_header(name: str, value: Any) -> bool:
    """An HTTP header whose value is a credential (by its name, or a URL carrying one)."""
    return bool(_SECRET_HEADER.search(name)) or (isinstance(value, str) and url_has_secret(value))


def merge_options(plain: Mapping[str, Any], secret: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(plain)
    for key, value in secret.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def redact_options(plain: Mapping[str, Any], secret: Mapping[str, Any]) -> dict[str, Any]:
    """Options as shown to a client: every secret value replaced by ``********``."""
    masked: dict[str, Any] = {}
    for key, value in secret.items():
        if isinstance(value, Mapping):
            masked[key] = {k: REDACTED for k in value}
        else:
            masked[key] = REDACTED
    return merge_options(plain, masked)


def secret_paths(secret: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in secret.items():
        if isinstance(value, Mapping):
            out.extend(f"{key}.{k}" for k in value)
        else:
            out.append(key)
    return sorted(out)


def reveal_options(
    options: Mapping[str, Any],
    secret_options: str | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The full options a check runs with (plain merged with the decrypted secrets)."""
    if not secret_options:
        return dict(options)
    return merge_options(options, decrypt_json(secret_options, environ))


def rotate_store(store: Any, environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Re-encrypt every stored secret (check options, users' TOTP secrets) under the first key."""
    from sqlmodel import col, select

    from auditor.store.models import Check, User

    counts = {"checks": 0, "users": 0}
    with store.write() as s:
        for chk in s.exec(select(Check).where(col(Check.secret_options).is_not(None))).all():
            assert chk.secret_options is not None
            chk.secret_options = rotate_token(chk.secret_options, environ)
            s.add(chk)
            counts["checks"] += 1
        for user in s.exec(select(User).where(col(User.totp_secret).is_not(None))).all():
            assert user.totp_secret is not None
            user.totp_secret = rotate_token(user.totp_secret, environ)
            s.add(user)
            counts["users"] += 1
    return counts
