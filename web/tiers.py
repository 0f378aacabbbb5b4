"""The API tier (DESIGN §9) as the web sees it: every check written through the REST API or
the dashboard forms is judged by the one policy in :mod:`checks.tiers`, with the configured
``[security] api_env_allowlist``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from auditor.config import COMMON_CHECK_KEYS
from checks.tiers import api_tier_problems, describe_config_only
from web.context import get_config


def api_problems(kind: str, options: Mapping[str, Any]) -> dict[str, str]:
    """``{"options.<field>": message}`` for every option the API tier refuses (first per field)."""
    allow = get_config().security.api_env_allowlist
    out: dict[str, str] = {}
    for field, message in api_tier_problems(kind, options, allow, os.environ):
        out.setdefault(field, message)
    return out


def form_problems(raw: Mapping[str, Any]) -> str | None:
    """The dashboard form's message for its options field, or None when the tier allows it."""
    options = {k: v for k, v in raw.items() if k not in COMMON_CHECK_KEYS}
    found = api_problems(str(raw.get("kind", "")), options)
    if not found:
        return None
    return "; ".join(f"{field.removeprefix('options.')}: {msg}" for field, msg in found.items())


def config_only_fields() -> dict[str, list[str]]:
    """kind -> options the forms do not offer (they belong in the config file)."""
    return describe_config_only()
