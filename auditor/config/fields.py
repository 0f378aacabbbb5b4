"""Building blocks every configuration table shares: the frozen strict model, durations, slugs."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

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
