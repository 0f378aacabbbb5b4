"""No secret follows a check to a new host (issue #17).

A check's credentials (secret headers, URL userinfo, token-like query items) were given for
the host it was pointed at. When a change points the check somewhere else — its service URL
moves to another host, or its own ``path``/``*_path``/``url`` becomes an absolute URL on
another host — those credentials are dropped unless the same request re-enters them. The
functions here are pure: they take option dicts and URLs and say what to keep and what was
dropped (as ``options.headers.X-Api-Key`` style paths for the caller to report).

Secrets that name their own host (a DSN, a ``*_password`` option) are not tied to the
service URL and are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.store import secret_fields as fields
from auditor.store.secrets import (
    REDACTED,
    SecretKeyMissing,
    SecretUndecryptable,
    encrypt_json,
    reveal_options,
    split_options,
)


def _join(service_url: str, ref: str) -> str:
    if ref.startswith(("http://", "https://")):
        return ref
    return service_url.rstrip("/") + "/" + ref.lstrip("/")


def target_hosts(options: Mapping[str, Any], service_url: str) -> set[str]:
    """Every ``host:port`` the check's requests may go to."""
    refs = [
        value for key, value in options.items() if isinstance(value, str) and fields.is_url_key(key)
    ]
    source = options.get("source")
    if isinstance(source, str) and source.startswith("http:"):
        refs.append(source[5:])
    hosts = {fields.host_of(_join(service_url, ref)) for ref in refs}
    if not str(options.get("path", "")).startswith(("http://", "https://")):
        hosts.add(fields.host_of(service_url))  # the default path, other relative paths
    return {h for h in hosts if h}


def moves(
    old: Mapping[str, Any], new: Mapping[str, Any], old_url: str, new_url: str | None = None
) -> bool:
    """The change sends the check to a host it did not go to before."""
    before = target_hosts(old, old_url)
    return not target_hosts(new, old_url if new_url is None else new_url) <= before


def strip_secrets(options: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The options without their host-bound secrets, and the paths of what was dropped."""
    plain, secret = split_options(options)
    dropped: list[str] = []
    out = dict(plain)
    for key, value in secret.items():
        if key == "headers" and isinstance(value, Mapping):
            dropped.extend(f"options.headers.{name}" for name in value)
        elif isinstance(value, str) and fields.is_url_key(key):
            out[key] = fields.strip_url_secrets(value)
            dropped.append(f"options.{key}")
        else:
            out[key] = value  # names its own host (a DSN, a password option)
    return out, sorted(dropped)


def _placeholder_for(value: Any, stored: Any) -> bool:
    if value == REDACTED:
        return True
    return (
        isinstance(value, str)
        and isinstance(stored, str)
        and value != stored
        and value == fields.redact_url(stored)
    )


def restore(
    sent: Mapping[str, Any], stored: Mapping[str, Any], *, moved: bool
) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """Options with redacted placeholders resolved: ``(options, dropped, errors)``.

    A placeholder (``********``, or a URL exactly as it is shown redacted) keeps the stored
    secret, unless the check ``moved`` to another host: then the secret is dropped (and
    listed). A placeholder with nothing stored behind it is an error for its field.
    """
    out = dict(sent)
    dropped: list[str] = []
    errors: dict[str, str] = {}
    for key, value in sent.items():
        kept = stored.get(key)
        if isinstance(value, Mapping) and any(v == REDACTED for v in value.values()):
            inner = dict(value)
            for name, v in value.items():
                if v != REDACTED:
                    continue
                secret = kept.get(name) if isinstance(kept, Mapping) else None
                if secret is None:
                    errors[f"options.{key}.{name}"] = "a redacted value cannot be stored"
                elif moved:
                    del inner[name]
                    dropped.append(f"options.{key}.{name}")
                else:
                    inner[name] = secret
            out[key] = inner
        elif _placeholder_for(value, kept) or value == REDACTED:
            if kept is None or isinstance(kept, Mapping):
                errors[f"options.{key}"] = "a redacted value cannot be stored"
            elif moved and fields.is_url_key(key):
                out[key] = fields.strip_url_secrets(kept)
                dropped.append(f"options.{key}")
            else:  # not moved, or a secret that names its own host (a DSN)
                out[key] = kept
    return out, sorted(dropped), errors


def drop_moved(chk: Any, old_url: str, new_url: str) -> list[str]:
    """Drop a stored check's host-bound secrets if its service URL moved it to a new host.

    ``chk`` is a ``Check`` row (changed in place). A stored secret that no longer decrypts
    is dropped whole: it cannot be checked, and it must not follow the check.
    """
    try:
        full = reveal_options(chk.options, chk.secret_options)
    except (SecretKeyMissing, SecretUndecryptable):
        chk.secret_options = None
        return ["options (undecryptable secrets)"]
    if not moves(full, full, old_url, new_url):
        return []
    stripped, dropped = strip_secrets(full)
    if dropped:
        plain, secret = split_options(stripped)
        chk.options = plain
        chk.secret_options = encrypt_json(secret) if secret else None
    return dropped


def drop_if_moved(chk: Any, before: Mapping[str, Any], service_url: str) -> list[str]:
    """After an edit that kept the stored secrets (the dashboard's form never shows them),
    drop them if the edit points the check at a new host (``before``: the full options)."""
    if not chk.secret_options:
        return []
    try:
        after = reveal_options(chk.options, chk.secret_options)
    except (SecretKeyMissing, SecretUndecryptable):
        chk.secret_options = None
        return ["options (undecryptable secrets)"]
    if not moves(before, after, service_url):
        return []
    stripped, dropped = strip_secrets(after)
    plain, secret = split_options(stripped)
    chk.options = plain
    chk.secret_options = encrypt_json(secret) if secret else None
    return dropped


def full_options_of(chk: Any) -> dict[str, Any]:
    """A check's options with its stored secrets (empty secrets when they do not decrypt)."""
    try:
        return reveal_options(chk.options, chk.secret_options)
    except (SecretKeyMissing, SecretUndecryptable):
        return dict(chk.options)
