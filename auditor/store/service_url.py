"""A service URL's credentials at rest: ``service.url`` holds the redacted form, the full URL
is Fernet-encrypted in ``service.secret_url`` (issue #17; see :mod:`auditor.store.secrets`).

Services from the config file keep their URL as written (the file is trusted and holds it
anyway); they are still shown redacted (:func:`shown_url`).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from auditor.store import secret_fields as fields
from auditor.store import secrets as vault
from auditor.store.models import Service


class RedactedUrl(ValueError):
    """A URL with ``***`` placeholders that do not stand for the stored credentials."""


def store_url(svc: Service, url: str) -> None:
    """Keep ``url`` on the service: its credentials encrypted, the column redacted."""
    if fields.has_secret(url):
        svc.secret_url = vault.encrypt_json({"url": url})
        svc.url = fields.redact_url(url)
    else:
        svc.secret_url = None
        svc.url = url


def full_url(svc: Service, environ: Mapping[str, str] | None = None) -> str:
    """The URL checks run against (credentials included)."""
    return url_with_secret(svc.url, svc.secret_url, environ)


def url_with_secret(
    url: str, secret_url: str | None, environ: Mapping[str, str] | None = None
) -> str:
    """The full URL from a service's shown ``url`` and its encrypted ``secret_url``."""
    if not secret_url:
        return url
    return str(vault.decrypt_json(secret_url, environ).get("url") or url)


def shown_url(svc: Service) -> str:
    return fields.redact_url(svc.url)


def change_url(svc: Service, url: str) -> list[str]:
    """Set a new URL sent by a client; returns the stored credentials it dropped.

    The URL exactly as shown (``https://***@host/``) keeps the stored one. Any other URL
    replaces it: credentials not re-entered are gone (listed as ``url.userinfo`` /
    ``url.query.<name>``). A URL with ``***`` placeholders that is not the shown form is a
    :class:`RedactedUrl` error: re-enter the credentials or leave them out.
    """
    if url == svc.url or url == shown_url(svc):
        return []
    if f"{fields.MASK}@" in url or f"={fields.MASK}" in url:
        raise RedactedUrl(
            "a redacted URL cannot be stored; re-enter its credentials or leave them out"
        )
    old = fields.redact_url(svc.url)
    store_url(svc, url)
    if fields.host_of(old) == fields.host_of(url):
        return []
    dropped = []
    if f"://{fields.MASK}@" in old and urlsplit(url).username is None:
        dropped.append("url.userinfo")
    dropped.extend(
        f"url.query.{name}" for name in _masked_query_names(old) if name not in url_query_names(url)
    )
    return dropped


def _masked_query_names(url: str) -> list[str]:
    return [
        item.split("=", 1)[0]
        for item in url.partition("?")[2].partition("#")[0].split("&")
        if item.endswith(f"={fields.MASK}")
    ]


def url_query_names(url: str) -> set[str]:
    return {item.split("=", 1)[0] for item in url.partition("?")[2].partition("#")[0].split("&")}
