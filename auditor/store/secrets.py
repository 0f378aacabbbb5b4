"""Secrets at rest (DESIGN §8): Fernet under ``AUDITOR_SECRET_KEY``, rotation via MultiFernet.

``AUDITOR_SECRET_KEY`` holds one or more comma-separated Fernet keys. New values are
encrypted with the first key; any listed key decrypts. Rotation: prepend a new key, run
``auditor secrets rotate`` (re-encrypts every stored secret under the first key, keeping the
original timestamps), then drop the old key once nothing uses it.

Check options that carry a secret (a DSN, a URL or path with credentials, a secret header
as :mod:`auditor.store.secret_fields` classifies it, ``*_secret`` / ``*_token`` /
``*_password`` keys) are split out of the plain
``options`` column into ``check_def.secret_options`` (a Fernet token of a JSON object) and
only ever shown redacted. ``reveal_options`` merges them back for the process that runs the
check. A service URL's credentials live in ``service.secret_url`` (:mod:`.service_url`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from auditor.store import secret_fields as fields

ENV_KEY = "AUDITOR_SECRET_KEY"
REDACTED = "********"

_SECRET_KEY_NAME = re.compile(
    r"(^|[_-])(dsn|password|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|"
    r"credentials?|auth)$",
    re.IGNORECASE,
)


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
    """A URL or path carrying credentials: userinfo or a token-like query item."""
    return fields.has_secret(value)


def split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split check options into (plain, secret). Header tables are split per header.

    A header is secret by name (:mod:`auditor.store.secret_fields`: the default list, the
    name rule, or ``secret_headers`` marked by the operator) or when its value holds a URL
    credential; a string option is secret by key name or when it holds a URL credential.
    """
    marked = fields.marked_headers(options)
    plain: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    for key, value in options.items():
        if key == "headers" and isinstance(value, Mapping):
            keep = {h: v for h, v in value.items() if not _secret_header(h, v, marked)}
            hidden = {h: v for h, v in value.items() if _secret_header(h, v, marked)}
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


def _secret_header(name: str, value: Any, marked: list[str]) -> bool:
    return fields.is_secret_header(name, marked) or (
        isinstance(value, str) and url_has_secret(value)
    )


def shown_secret(value: Any) -> Any:
    """How one stored secret option is shown: a URL/path keeps its shape (``?token=***``)."""
    if isinstance(value, str) and url_has_secret(value):
        return fields.redact_url(value)
    return REDACTED


def is_secret_header(name: str, value: Any) -> bool:
    """An HTTP header whose value is a credential (by its name, or a URL carrying one)."""
    return _secret_header(name, value, [])


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
            masked[key] = shown_secret(value)
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

    from auditor.store.models import Check, Service, User

    counts = {"checks": 0, "users": 0, "services": 0}
    with store.write() as s:
        for svc in s.exec(select(Service).where(col(Service.secret_url).is_not(None))).all():
            assert svc.secret_url is not None
            svc.secret_url = rotate_token(svc.secret_url, environ)
            s.add(svc)
            counts["services"] += 1
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
