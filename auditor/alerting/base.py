"""What every receiver shares: the protocol, the error, URL redaction, secrets from env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from auditor.config import ReceiverModel


class DeliveryError(Exception):
    """A delivery failed; ``permanent`` ones are not retried (configuration problems)."""

    def __init__(
        self, message: str, permanent: bool = False, status_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.status_code = status_code


class Receiver(Protocol):
    name: str

    async def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver one alert event (see ``render.event``); raise DeliveryError on failure."""


def env_value(name: str | None, what: str) -> str | None:
    """Read a secret from the environment at send time (never logged or stored)."""
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise DeliveryError(f"environment variable {name} ({what}) is not set", permanent=True)
    return value


def receiver_url(cfg: ReceiverModel) -> str:
    url = cfg.url or env_value(cfg.url_env, "receiver URL")
    if not url:
        raise DeliveryError(f"receiver {cfg.name!r} has no url or url_env", permanent=True)
    return url


def redact_url(url: str | None) -> str:
    """Scheme, host and port only: URLs of webhooks often carry a token in the path."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable URL>"
    return f"{parts.scheme}://{host}{port}/…"


def redacted_target(cfg: ReceiverModel) -> str:
    """Where a receiver sends, for the delivery log: no token, path or credential.

    An Apprise URL keeps only its scheme (``slack://…``): its host is often a token."""
    if cfg.type == "email":
        return f"smtp://{cfg.smtp_host or ''}:{cfg.smtp_port}"
    if cfg.url_env or not cfg.url:
        return f"${cfg.url_env}" if cfg.url_env else ""
    if cfg.type == "apprise" or (cfg.type == "slack" and cfg.url.startswith("slack:")):
        scheme = cfg.url.split("://", 1)[0].lower() if "://" in cfg.url else ""
        return f"{scheme[:20]}://…"
    return redact_url(cfg.url)


def scrub(message: str, secrets: list[str | None]) -> str:
    """Remove secret strings (URLs with tokens, passwords) from an error message."""
    for s in secrets:
        if s:
            message = message.replace(s, "<redacted>")
    return message[:500]
