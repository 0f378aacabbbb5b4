"""Pure rules judging one configuration value. Only the verdicts ever leave this module.

Callers pass a value in and get verdict names back; no rule returns, logs or embeds any
part of the value (not even a length or a prefix), per reference/probes.md C.3.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

#: verdict names, also the finding-code suffixes (``env.<verdict>``)
EMPTY = "empty"
PLACEHOLDER = "placeholder"
DEBUG_ENABLED = "debug_enabled"
WEAK_SECRET = "weak_secret"
DEFAULT_CREDENTIAL = "default_credential"
UNVERIFIABLE = "unverifiable"

DEBUG_NAMES = {"DEBUG", "APP_DEBUG", "FLASK_DEBUG", "DJANGO_DEBUG"}
TRUTHY = {"1", "true", "yes", "on", "y", "t"}
SECRET_MIN_LENGTH = 32
SECRET_MIN_UNIQUE = 5  # Django's SECRET_KEY_MIN_UNIQUE_CHARACTERS
INSECURE_PREFIXES = ("django-insecure-",)

_PLACEHOLDERS = {
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "change-this",
    "replaceme",
    "replace-me",
    "replace_me",
    "todo",
    "tbd",
    "fixme",
    "placeholder",
    "dummy",
    "example",
    "your-secret",
    "secret",
    "password",
}
_PLACEHOLDER_PATTERNS = (
    re.compile(r"^x{3,}$", re.IGNORECASE),
    re.compile(r"^your[-_ ].*[-_ ]here$", re.IGNORECASE),
    re.compile(r"^<[^>]*>$"),
    re.compile(r"^\$\{[^}]*\}$"),  # an unexpanded template reference
    re.compile(r"^(?:change|replace)[-_ ]?me", re.IGNORECASE),
)
#: user/password pairs shipped as defaults (Postgres/MySQL images, RabbitMQ, MinIO, …)
DEFAULT_PAIRS = {
    ("postgres", "postgres"),
    ("root", "root"),
    ("root", ""),
    ("admin", "admin"),
    ("admin", "password"),
    ("guest", "guest"),
    ("minioadmin", "minioadmin"),
    ("user", "password"),
    ("sa", ""),
    ("elastic", "changeme"),
}
DEFAULT_PASSWORDS = {
    "postgres",
    "root",
    "admin",
    "guest",
    "minioadmin",
    "password",
    "123456",
    "12345678",
    "letmein",
    "changeme",
}
_PLAIN_SETTING = re.compile(
    r"^(?:-?\d+(?:\.\d+)?|true|false|yes|no|on|off|debug|info|warn|warning|error|"
    r"production|staging|development|localhost|127\.0\.0\.1)$",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """``*SECRET*`` / ``*KEY*`` names that hold a secret (not ``*_KEY_ID``, ``*_KEY_PATH``)."""
    upper = name.upper()
    if upper.endswith(("_ID", "_PATH", "_FILE", "_NAME", "_URL", "_HOST")):
        return False
    return (
        "SECRET" in upper or bool(re.search(r"(?:^|_)KEY(?:$|_)|KEY$", upper)) or ("TOKEN" in upper)
    )


def is_password_name(name: str) -> bool:
    upper = name.upper()
    return "PASSWORD" in upper or upper.endswith(("_PASS", "_PWD"))


def is_placeholder(value: str, example: str | None = None) -> bool:
    text = value.strip()
    low = text.lower()
    if low in _PLACEHOLDERS or any(p.search(text) for p in _PLACEHOLDER_PATTERNS):
        return True
    # the example file's own value was copied unchanged (plain settings such as
    # ports, booleans and log levels legitimately keep their example value)
    ex = (example or "").strip()
    return bool(ex) and text == ex and not _PLAIN_SETTING.match(ex)


def is_weak_secret(value: str) -> bool:
    text = value.strip()
    return (
        len(text) < SECRET_MIN_LENGTH
        or len(set(text)) < SECRET_MIN_UNIQUE
        or text.lower().startswith(INSECURE_PREFIXES)
    )


def has_default_credential(name: str, value: str) -> bool:
    text = value.strip()
    if "://" in text:
        try:
            parts = urlsplit(text)
            user, password = parts.username, parts.password
        except ValueError:
            return False
        if user is not None and password is not None:
            return (unquote(user).lower(), unquote(password)) in DEFAULT_PAIRS
        return False
    if ":" in text and " " not in text and text.count(":") == 1:
        user, _, password = text.partition(":")
        if (user.lower(), password) in DEFAULT_PAIRS:
            return True
    if text.lower() == "minioadmin":
        return True
    return is_password_name(name) and text.lower() in DEFAULT_PASSWORDS


def judge(
    name: str,
    value: str,
    *,
    required: bool,
    production: bool,
    example: str | None = None,
) -> list[str]:
    """Verdicts for one present value; an empty list means nothing wrong was found."""
    if not value.strip():
        return [EMPTY] if required else []
    verdicts: list[str] = []
    upper = name.upper()
    if upper in DEBUG_NAMES:
        if production and value.strip().lower() in TRUTHY:
            verdicts.append(DEBUG_ENABLED)
        return verdicts
    if is_placeholder(value, example):
        verdicts.append(PLACEHOLDER)
    if has_default_credential(name, value):
        verdicts.append(DEFAULT_CREDENTIAL)
    if is_secret_name(name) and PLACEHOLDER not in verdicts and is_weak_secret(value):
        verdicts.append(WEAK_SECRET)
    return verdicts


def needs_value(name: str) -> bool:
    """Whether a name has value rules (so a masked value leaves something unverified)."""
    return (
        name.upper() in DEBUG_NAMES
        or is_secret_name(name)
        or is_password_name(name)
        or any(w in name.upper() for w in ("URL", "DSN", "URI"))
    )
