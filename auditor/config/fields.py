"""Building blocks every configuration table shares: the frozen strict model, durations, slugs."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict

from checks.units import parse_duration

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
LEVELS = ("bronze", "silver", "gold")
SEVERITIES = ("critical", "high", "medium", "low", "info")


def _duration(value: object) -> float:
    return parse_duration(value)


#: a duration written as ``"5m"``, ``"1h30m"`` or seconds, validated into seconds
Duration = Annotated[float, BeforeValidator(_duration)]


class StrictModel(BaseModel):
    """A table that rejects unknown keys (a typo is an error, not a silent default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def require_slug(value: str) -> str:
    """The rule service and check names share: they appear in URLs, metrics and the CLI."""
    if not SLUG.match(value):
        raise ValueError(
            "must be a lowercase slug (a-z, 0-9, '.', '_', '-'), at most 63 characters"
        )
    return value


def require_cidrs(value: list[str]) -> list[str]:
    """Every item a CIDR range (``10.0.0.0/8``; a bare address is a /32 or /128)."""
    for item in value:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a CIDR range ({exc})") from exc
    return value


_HOST = re.compile(r"^[A-Za-z0-9._~%!$&'()*+,;=-]+$")


def require_http_url(value: str) -> str:
    """An absolute ``http(s)://host[:port]`` URL: no whitespace, a host, a port in 1-65535.

    ``urlsplit`` alone takes ``https://exa mple.com`` and ``https://x:99999`` happily; the
    probe would then fail on every run with a message far from the cause. Messages never
    repeat the URL: it may carry credentials.
    """
    example = 'e.g. "https://api.example.com"'
    if not isinstance(value, str) or not re.match(r"^https?://", value, re.IGNORECASE):
        raise ValueError(f"must be an absolute http:// or https:// URL, {example}")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain spaces or other whitespace (write a space as %20)")
    parts = urlsplit(value)
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"has no host, {example}")
    port_text = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    if parts.netloc.rpartition("@")[2].rpartition("]")[2].endswith(":"):
        raise ValueError("has a ':' but no port after it")
    if port_text and not port_text.isdigit():
        raise ValueError(f"port {port_text!r} is not a number")
    if port_text and not 1 <= int(port_text) <= 65535:
        raise ValueError(f"port {port_text} is out of range (1-65535)")
    if not (host.startswith("[") or ":" in host) and not _HOST.match(
        "".join(ch for ch in host if ch.isascii())
    ):
        raise ValueError(f"{host!r} is not a valid host name")
    return value
