"""The ``[security]`` table: what checks made through the API or dashboard may reach (DESIGN §9)."""

from __future__ import annotations

import re

from pydantic import field_validator

from auditor.config.fields import StrictModel

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class SecuritySettings(StrictModel):
    """``api_env_allowlist``: the only environment variables an API-tier check's ``*_env``
    options may name (e.g. ``["PAYMENTS_RO_DSN"]``); empty by default, and never the
    daemon's own ``AUDITOR_*`` settings."""

    api_env_allowlist: list[str] = []

    @field_validator("api_env_allowlist")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name")
            if name.upper().startswith("AUDITOR_"):
                raise ValueError(
                    f"{name!r}: the daemon's own AUDITOR_* settings can never be allow-listed"
                )
        return value
