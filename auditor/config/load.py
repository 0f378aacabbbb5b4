"""Load the TOML configuration (DESIGN §4): read the file, apply ``AUDITOR_*`` overrides, validate.

Every problem is reported at once, one line each, naming the key path
(``services[1].checks[0].warn_days: must be a positive integer``). Kind-specific options
are validated by the kind's own ``Options`` model from the registry.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from auditor.config.alerting import AlertingModel, maintenance_service_problems
from auditor.config.apprise_check import apprise_problems
from auditor.config.discovery import DiscoveryModel, discovery_problems, template_problems
from auditor.config.errors import ConfigError, unknown_key, validation_problems
from auditor.config.locate import with_lines
from auditor.config.model import Config
from auditor.config.profiles import expand_profile
from auditor.config.security import SecuritySettings
from auditor.config.services import CheckConfig, ServiceConfig, ServiceModel, build_check
from auditor.config.settings import AuditorSettings
from auditor.config.web import WebSettings
from auditor.config.webhook_secret import secret_problems

ENV_PREFIX = "AUDITOR_"
TOP_LEVEL = ("auditor", "services", "alerting", "web", "security", "discovery")
M = TypeVar("M", bound=BaseModel)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``AUDITOR_<KEY>`` for every ``[auditor]`` key, coerced to the field's type."""
    out: dict[str, Any] = {}
    for key, info in AuditorSettings.model_fields.items():
        raw = environ.get(ENV_PREFIX + key.upper())
        if raw is None:
            continue
        annotation = str(info.annotation)
        if "list" in annotation:
            out[key] = [item.strip() for item in raw.split(",") if item.strip()]
        elif "bool" in annotation.lower():
            lowered = raw.strip().lower()
            out[key] = {
                "true": True,
                "1": True,
                "yes": True,
                "on": True,
                "false": False,
                "0": False,
                "no": False,
                "off": False,
            }.get(lowered, raw)
        else:
            out[key] = raw
    return out


def _settings(
    data: Mapping[str, Any], environ: Mapping[str, str], problems: list[str]
) -> AuditorSettings:
    """The ``[auditor]`` table with its environment overrides; defaults when it is invalid
    (its problems are collected so the services can still be checked)."""
    auditor_raw = dict(data.get("auditor") or {})
    overrides = _env_overrides(environ)
    auditor_raw.update(overrides)
    try:
        return AuditorSettings.model_validate(auditor_raw)
    except ValidationError as exc:
        for problem in validation_problems("auditor", exc, AuditorSettings):
            key = problem.split(":", 1)[0].removeprefix("auditor.").split("[")[0]
            if key in overrides:
                path, message = problem.split(": ", 1)
                problem = f"{path} (from {ENV_PREFIX}{key.upper()}): {message}"
            problems.append(problem)
        return AuditorSettings()


def _first_seen(seen: dict[str, int], name: str, index: int) -> int | None:
    """Where ``name`` was first seen, for a duplicate; ``None`` (and ``index`` is recorded)
    for a new name. Service and check names must each be unique in their scope."""
    if name in seen:
        return seen[name]
    seen[name] = index
    return None


def _service_checks(
    service: ServiceModel, prefix: str, settings: AuditorSettings, problems: list[str]
) -> list[CheckConfig]:
    """The service's valid checks (its own plus its profile's); the rest become problems."""
    checks: list[CheckConfig] = []
    check_names: dict[str, int] = {}
    for cindex, raw_check in enumerate(expand_profile(service)):
        cprefix = f"{prefix}.checks[{cindex}]"
        if cindex >= len(service.checks):  # added by the profile, not in the file
            cprefix = (
                f"{prefix}.profile({service.profile}).{raw_check.get('name') or raw_check['kind']}"
            )
        built, errs = build_check(raw_check, settings, cprefix)
        problems.extend(errs)
        if built is None:
            continue
        earlier = _first_seen(check_names, built.name, cindex)
        if earlier is not None:
            problems.append(
                f"{cprefix}.name: duplicate check name {built.name!r} in service {service.name!r} "
                f"(also checks[{earlier}]); give one of them a name"
            )
            continue
        checks.append(built)
    return checks


def _discovery(
    raw: Any, settings: AuditorSettings, allowlist: list[str], problems: list[str]
) -> tuple[DiscoveryModel, ...]:
    """The ``[[discovery]]`` sources; each bad one becomes problems naming its key path."""
    if not isinstance(raw, list):
        problems.append("discovery: must be an array of tables ([[discovery]])")
        return ()
    out: list[DiscoveryModel] = []
    for index, table in enumerate(raw):
        prefix = f"discovery[{index}]"
        try:
            source = DiscoveryModel.model_validate(table)
        except ValidationError as exc:
            problems.extend(validation_problems(prefix, exc, DiscoveryModel))
            continue
        found = discovery_problems(source, prefix)
        for cindex, table in enumerate(source.checks):
            found.extend(
                template_problems(table, settings, allowlist, f"{prefix}.checks[{cindex}]")
            )
        problems.extend(found)
        if not found:
            out.append(source)
    return tuple(out)


def _service(
    raw: Any, prefix: str, settings: AuditorSettings, problems: list[str]
) -> ServiceConfig | None:
    """One ``[[services]]`` table; its checks are validated even when the service's own keys
    are wrong (a bad ``url`` must not hide a misspelt check option)."""
    try:
        service = ServiceModel.model_validate(raw)
    except ValidationError as exc:
        problems.extend(validation_problems(prefix, exc, ServiceModel))
        raw_checks = raw.get("checks") if isinstance(raw, Mapping) else None
        for cindex, raw_check in enumerate(raw_checks if isinstance(raw_checks, list) else []):
            problems.extend(build_check(raw_check, settings, f"{prefix}.checks[{cindex}]")[1])
        return None
    checks = _service_checks(service, prefix, settings, problems)
    return ServiceConfig(
        name=service.name,
        url=service.url,
        environment=service.environment,
        owner=service.owner,
        tags=tuple(service.tags),
        profile=service.profile,
        public=service.public,
        description=service.description,
        enabled=service.enabled,
        checks=tuple(checks),
    )


def _services(
    raw_services: Any, settings: AuditorSettings, problems: list[str]
) -> list[ServiceConfig]:
    if not isinstance(raw_services, list):
        problems.append("services: must be an array of tables ([[services]])")
        return []
    services: list[ServiceConfig] = []
    seen_names: dict[str, int] = {}
    for index, raw in enumerate(raw_services):
        prefix = f"services[{index}]"
        service = _service(raw, prefix, settings, problems)
        if service is None:
            continue
        earlier = _first_seen(seen_names, service.name, index)
        if earlier is not None:
            problems.append(
                f"{prefix}.name: duplicate service name {service.name!r} (also services[{earlier}])"
            )
            continue
        services.append(service)
    return services


def _table(data: Mapping[str, Any], key: str, model: type[M], problems: list[str]) -> M:
    """A whole-document table, or its defaults when invalid (its problems collected)."""
    try:
        return model.model_validate(data.get(key) or {})
    except ValidationError as exc:
        problems.extend(validation_problems(key, exc, model))
        return model()


def parse_config(
    data: Mapping[str, Any], environ: Mapping[str, str] | None = None, path: str | None = None
) -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    problems = [f"{key}: {unknown_key(key, TOP_LEVEL)}" for key in data if key not in TOP_LEVEL]
    settings = _settings(data, environ, problems)
    alerting = _table(data, "alerting", AlertingModel, problems)
    problems.extend(secret_problems(alerting, environ))
    problems.extend(apprise_problems(alerting, environ))
    web = _table(data, "web", WebSettings, problems)
    security = _table(data, "security", SecuritySettings, problems)
    discovery = _discovery(
        data.get("discovery") or [], settings, security.api_env_allowlist, problems
    )
    raw_services = data.get("services") or []
    services = _services(raw_services, settings, problems)
    problems.extend(maintenance_service_problems(data.get("alerting"), raw_services))
    if problems:
        raise ConfigError(problems)
    return Config(
        auditor=settings,
        services=tuple(services),
        alerting=alerting,
        path=path,
        web=web,
        security=security,
        discovery=discovery,
    )


def default_config_path(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get("AUDITOR_CONFIG") or "config.toml"


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and validate a TOML file. A missing default file means "no services", not an error."""
    environ = os.environ if environ is None else environ
    explicit = path is not None or "AUDITOR_CONFIG" in environ
    file = Path(path) if path is not None else Path(default_config_path(environ))
    if not file.exists():
        if explicit:
            raise ConfigError([f"{file}: no such configuration file"])
        return parse_config({}, environ)
    try:
        source = file.read_bytes().decode("utf-8")
        data = tomllib.loads(source)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: not valid TOML: {exc}"]) from exc
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read: {exc.strerror}"]) from exc
    try:
        return parse_config(data, environ, path=str(file))
    except ConfigError as exc:
        raise ConfigError(with_lines(exc.problems, source, str(file))) from None
