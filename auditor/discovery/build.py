"""A discovered service table -> a validated :class:`ServiceConfig`, by the file's own rules.

The same validation as ``[[services]]`` (slug names, absolute URLs, the profile's checks,
every check's options), plus the API tier (DESIGN §9): what a discovery source returns is
data written by others — a target list, a developer's ``catalog-info.yaml`` — so its checks
may use only what an API-made check may (no file paths, commands, env names, non-GET).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import ValidationError

from auditor.config import AuditorSettings, ServiceConfig, ServiceModel, build_check
from auditor.config.discovery import tier_message
from auditor.config.errors import validation_problems
from auditor.config.profiles import expand_profile
from auditor.config.services import CheckConfig
from checks.tiers import api_tier_problems

#: the store's column sizes: a longer value from a source is a problem, not a failed write
LIMITS = {"url": 2048, "environment": 63, "owner": 255, "description": 2000}


def tier_checked(
    raw: dict[str, Any], settings: AuditorSettings, allowlist: Collection[str], prefix: str
) -> tuple[CheckConfig | None, list[str]]:
    """One check table validated, then judged by the API tier."""
    built, problems = build_check(raw, settings, prefix)
    if built is None:
        return None, problems
    refused = api_tier_problems(built.kind, built.raw_options, allowlist)
    if refused:
        return None, [tier_message(prefix, field, msg) for field, msg in refused]
    return built, problems


def build_service(
    raw: dict[str, Any], settings: AuditorSettings, allowlist: Collection[str], where: str
) -> tuple[ServiceConfig | None, list[str]]:
    """The service, or every problem (each naming ``where``: the file or URL and the entry)."""
    try:
        model = ServiceModel.model_validate(raw)
    except ValidationError as exc:
        return None, validation_problems(f"{where}: service", exc)
    problems = [
        f"{where}: service.{key}: at most {limit} characters"
        for key, limit in LIMITS.items()
        if len(getattr(model, key)) > limit
    ]
    checks: list[CheckConfig] = []
    names: set[str] = set()
    for table in expand_profile(model):
        prefix = f"{where}: check {table.get('name') or table.get('kind')}"
        built, found = tier_checked(table, settings, allowlist, prefix)
        problems.extend(found)
        if built is None:
            continue
        if built.name in names:
            problems.append(f"{prefix}: duplicate check name {built.name!r}")
            continue
        names.add(built.name)
        checks.append(built)
    if problems:
        return None, problems
    return (
        ServiceConfig(
            name=model.name,
            url=model.url,
            environment=model.environment,
            owner=model.owner,
            tags=tuple(model.tags),
            profile=model.profile,
            public=model.public,
            description=model.description,
            enabled=True,
            checks=tuple(checks),
        ),
        [],
    )
