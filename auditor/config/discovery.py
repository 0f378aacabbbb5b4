"""``[[discovery]]``: where services are found instead of typed in (issue #22).

One table per source: Prometheus ``file_sd`` files (JSON or YAML target groups, globs),
an ``http_sd`` endpoint (the same target groups over HTTP), or Backstage
``catalog-info.yaml`` files or directory trees. ``labels`` maps a target label (a Backstage
``metadata.labels`` key) to the service field it fills, relabel-style. The file is the
trusted tier: the paths and the URL are the operator's; what they *return* is not, so the
checks of a discovered service run on the API tier (DESIGN §9).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from auditor.config.fields import Duration, StrictModel
from auditor.config.services import build_check
from auditor.config.settings import AuditorSettings
from checks.tiers import api_tier_problems

#: the service fields a label may fill
LABEL_TARGETS = ("name", "environment", "owner", "profile", "url")
#: seconds between two reads when ``refresh`` is not set: files are only re-parsed when
#: their modification time or size changed, so polling them is cheap
DEFAULT_REFRESH = {"file_sd": 30.0, "http_sd": 60.0, "backstage": 60.0}


class DiscoveryModel(StrictModel):
    """One discovery source (see the README's Discovery section)."""

    type: Literal["file_sd", "http_sd", "backstage"]
    path: list[str] = []
    url: str | None = None
    refresh: Duration | None = Field(None, gt=0, le=86400)
    timeout: Duration = Field(10.0, gt=0, le=300)
    labels: dict[str, Literal["name", "environment", "owner", "profile", "url"]] = {}
    profile: Literal["production", "none"] | None = None
    environment: str = Field("production", max_length=63)
    owner: str = Field("", max_length=255)
    #: check tables every service of this source gets (API-tier options only)
    checks: list[dict[str, Any]] = []

    @field_validator("path", mode="before")
    @classmethod
    def _paths(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value

    @property
    def refresh_s(self) -> float:
        return self.refresh or DEFAULT_REFRESH[self.type]


def discovery_problems(source: DiscoveryModel, prefix: str) -> list[str]:
    """What a well-typed table still gets wrong: the key its type needs, or one it ignores."""
    out: list[str] = []
    if source.type == "http_sd":
        if source.url is None:
            out.append(f"{prefix}.url: is required for an http_sd source")
        if source.path:
            out.append(f"{prefix}.path: an http_sd source reads url, not path")
    else:
        if not source.path:
            out.append(
                f"{prefix}.path: is required for a {source.type} source (files, globs or dirs)"
            )
        if source.url is not None:
            out.append(f"{prefix}.url: a {source.type} source reads path, not url")
    mapped = list(source.labels.values())
    for target in sorted(set(mapped)):
        if mapped.count(target) > 1:
            out.append(f"{prefix}.labels: more than one label maps to {target!r}")
    return out


def template_problems(
    table: Any, settings: AuditorSettings, allowlist: list[str], prefix: str
) -> list[str]:
    """A ``[[discovery.checks]]`` table: a valid check that the API tier allows (the services
    it lands on are found, not written, so their checks run on the API tier)."""
    built, problems = build_check(table, settings, prefix)
    if built is None:
        return problems
    refused = api_tier_problems(built.kind, built.raw_options, allowlist)
    return problems + [tier_message(prefix, field, msg) for field, msg in refused]


def tier_message(prefix: str, field: str, message: str) -> str:
    """An API-tier refusal, worded for a discovered service's check."""
    return (
        f"{prefix}.{field.removeprefix('options.')}: not allowed on a discovered service's "
        f"check, which runs on the API tier ({message})"
    )
