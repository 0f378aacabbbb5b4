"""TOML configuration (DESIGN §4): load, apply ``AUDITOR_*`` overrides, validate into typed models.

Every problem is reported at once, one line each, naming the key path
(``services[1].checks[0].warn_days: must be a positive integer``). Kind-specific options
are validated by the kind's own ``Options`` model from the registry.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from auditor.probe.addresses import AddressPolicy
from checks.base import Options
from checks.registry import get_check
from checks.units import parse_duration

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
LEVELS = ("bronze", "silver", "gold")
SEVERITIES = ("critical", "high", "medium", "low", "info")


class ConfigError(Exception):
    """A configuration that cannot be used; ``problems`` holds one message per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _duration(value: object) -> float:
    return parse_duration(value)


Duration = Annotated[float, BeforeValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditorSettings(_Model):
    """The ``[auditor]`` table; every key can be overridden by ``AUDITOR_<KEY>``."""

    database_url: str = "sqlite:///auditor.db"
    listen: str = "127.0.0.1:8080"
    concurrency: int = Field(100, gt=0, le=10_000)
    default_interval: Duration = 300.0
    default_timeout: Duration = 10.0
    retention: Duration = 30 * 86400.0
    allow_private_networks: StrictBool = True
    allow_cidrs: list[str] = []
    deny_cidrs: list[str] = []
    tls_cert: str | None = None
    tls_key: str | None = None
    lease: Duration = 60.0
    public_url: str | None = None
    anonymous_read: StrictBool = False
    metrics_token_env: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: web server processes sharing ``listen``; 0 = one per CPU for ``web``, 1 for ``serve``
    web_processes: int = Field(0, ge=0, le=64)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError('must be "host:port", e.g. "127.0.0.1:8080"')
        return value

    @field_validator("allow_cidrs", "deny_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not a CIDR range ({exc})") from exc
        return value

    @field_validator("default_interval", "default_timeout", "lease")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive duration")
        return value

    def address_policy(self) -> AddressPolicy:
        return AddressPolicy(
            allow_private_networks=self.allow_private_networks,
            allow_cidrs=tuple(ipaddress.ip_network(c, strict=False) for c in self.allow_cidrs),
            deny_cidrs=tuple(ipaddress.ip_network(c, strict=False) for c in self.deny_cidrs),
        )

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])


#: keys every check takes, whatever its kind (DESIGN §4)
COMMON_CHECK_KEYS = frozenset(
    {
        "kind",
        "name",
        "interval",
        "schedule",
        "timeout",
        "severity",
        "level",
        "failure_threshold",
        "success_threshold",
        "consecutive_error_limit",
        "enabled",
        "blocking",
        "jitter",
        "description",
    }
)


class CheckCommon(_Model):
    """The shared part of a ``[[services.checks]]`` table."""

    kind: str
    name: str | None = None
    interval: Duration | None = None
    schedule: str | None = None
    timeout: Duration | None = None
    severity: Literal["critical", "high", "medium", "low", "info"] = "high"
    level: Literal["bronze", "silver", "gold"] = "bronze"
    failure_threshold: int = Field(2, ge=1, le=100)
    success_threshold: int = Field(1, ge=1, le=100)
    consecutive_error_limit: int = Field(4, ge=1, le=1000)
    enabled: StrictBool = True
    blocking: StrictBool = False
    jitter: Duration = 0.0
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.match(value):
            raise ValueError(
                "must be a lowercase slug (a-z, 0-9, '.', '_', '-'), at most 63 characters"
            )
        return value

    @field_validator("interval", "timeout")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be a positive duration")
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value, timezone="UTC")
            except ValueError as exc:
                raise ValueError(f"is not a valid cron expression ({exc})") from exc
        return value


@dataclass(frozen=True)
class CheckConfig:
    """A validated check: shared settings plus the kind's typed options."""

    name: str
    kind: str
    common: CheckCommon
    options: Options
    raw_options: dict[str, Any]
    interval: float
    timeout: float

    @property
    def schedule(self) -> str | None:
        return self.common.schedule


class ServiceModel(_Model):
    name: str
    url: str
    environment: str = "production"
    owner: str = ""
    tags: list[str] = []
    profile: Literal["production", "none"] | None = None
    public: StrictBool = False
    description: str = ""
    enabled: StrictBool = True
    checks: list[dict[str, Any]] = []

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(
                "must be a lowercase slug (a-z, 0-9, '.', '_', '-'), at most 63 characters"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(
                'must be an absolute http:// or https:// URL, e.g. "https://api.example.com"'
            )
        return value.rstrip("/") if value.count("/") > 2 else value


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    url: str
    environment: str
    owner: str
    tags: tuple[str, ...]
    profile: str | None
    public: bool
    description: str
    enabled: bool
    checks: tuple[CheckConfig, ...]


class ReceiverModel(_Model):
    """One ``[[alerting.receivers]]`` entry (DESIGN §7 contract)."""

    name: str
    type: Literal["webhook", "slack", "email", "alertmanager"]
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    match: dict[str, list[str]] = {}
    send_resolved: StrictBool = True
    repeat_interval: Duration | None = None
    # e-mail
    smtp_host: str | None = None
    smtp_port: int = 587
    starttls: StrictBool = True
    username_env: str | None = None
    password_env: str | None = None
    from_addr: str | None = Field(None, alias="from")
    to: list[str] = []
    timeout: Duration = 10.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _destination(self) -> ReceiverModel:
        if self.type == "email":
            missing = [
                k
                for k, v in (
                    ("smtp_host", self.smtp_host),
                    ("from", self.from_addr),
                    ("to", self.to),
                )
                if not v
            ]
            if missing:
                raise ValueError(f"an email receiver needs {', '.join(missing)}")
        elif not (self.url or self.url_env):
            raise ValueError(f"a {self.type} receiver needs url or url_env")
        if self.url and self.url_env:
            raise ValueError("set url or url_env, not both")
        return self

    @field_validator("match")
    @classmethod
    def _match(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        allowed = {"service", "environment", "severity", "tag", "tags", "kind", "owner"}
        for key in value:
            if key not in allowed:
                raise ValueError(
                    f"unknown match key {key!r} (allowed: {', '.join(sorted(allowed))})"
                )
        return value


class MaintenanceModel(_Model):
    name: str
    services: list[str] = []
    start: str | None = None
    end: str | None = None
    schedule: str | None = None
    duration: Duration | None = None


class AlertingModel(_Model):
    receivers: list[ReceiverModel] = []
    maintenance: list[MaintenanceModel] = []


@dataclass(frozen=True)
class Config:
    auditor: AuditorSettings
    services: tuple[ServiceConfig, ...]
    alerting: AlertingModel = field(default_factory=AlertingModel)
    path: str | None = None


_PYDANTIC_MESSAGES = {
    "int_parsing": "must be an integer",
    "int_type": "must be an integer",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
    "missing": "is required",
    "extra_forbidden": "unknown key",
}


def _loc_path(prefix: str, loc: tuple[Any, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("greater_than", "greater_than_equal") and ctx.get("gt", ctx.get("ge")) in (0, 1):
        return (
            "must be a positive integer"
            if isinstance(err.get("input"), int)
            else "must be positive"
        )
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "value_error":
        return str(ctx.get("error", err.get("msg", "")))
    if kind in _PYDANTIC_MESSAGES:
        return _PYDANTIC_MESSAGES[kind]
    return str(err.get("msg", "is invalid"))


def _errors(prefix: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        out.append(f"{_loc_path(prefix, loc)}: {_message(err)}")
    return out


ENV_PREFIX = "AUDITOR_"


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


#: checks the production profile adds when a service does not declare them (DESIGN §4)
PRODUCTION_PROFILE: tuple[dict[str, Any], ...] = (
    {"kind": "tls"},
    {"kind": "headers"},
    {"kind": "redirect"},
    {"kind": "health", "path": "/health"},
    {"kind": "health", "name": "ready", "path": "/ready"},
    {"kind": "exposure"},
    {"kind": "attestation", "name": "load-testing", "item": "load testing completed"},
    {"kind": "attestation", "name": "rollback-runbook", "item": "rollback procedure documented"},
    {"kind": "attestation", "name": "backup-recovery", "item": "backup and recovery tested"},
)

#: kinds the production checklist needs that the profile cannot configure by itself
PROFILE_NEEDS_CONFIG = ("env", "migrations", "backups")


def _expand_profile(service: ServiceModel) -> list[dict[str, Any]]:
    checks = [dict(c) for c in service.checks]
    if service.profile != "production":
        return checks
    declared = {(c.get("name") or c.get("kind")) for c in checks}
    for default in PRODUCTION_PROFILE:
        name = default.get("name") or default["kind"]
        if name not in declared:
            checks.append(dict(default))
    return checks


def build_check(
    raw: Mapping[str, Any], settings: AuditorSettings, prefix: str
) -> tuple[CheckConfig | None, list[str]]:
    """Validate one check table (shared keys + the kind's options); return it or the problems."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        return None, [f"{prefix}: must be a table"]
    common_raw = {k: v for k, v in raw.items() if k in COMMON_CHECK_KEYS}
    option_raw = {k: v for k, v in raw.items() if k not in COMMON_CHECK_KEYS}
    try:
        common = CheckCommon.model_validate(common_raw)
    except ValidationError as exc:
        return None, _errors(prefix, exc)
    try:
        check = get_check(common.kind)
    except LookupError as exc:
        return None, [f"{prefix}.kind: {exc}"]
    try:
        options = check.Options.model_validate(option_raw)
    except ValidationError as exc:
        problems.extend(_errors(prefix, exc))
        return None, problems
    if common.schedule is not None and common.interval is not None:
        return None, [f"{prefix}.schedule: set either interval or schedule, not both"]
    if common.schedule is not None:
        from auditor.schedule.triggers import cron_period

        interval = cron_period(common.schedule)
    else:
        interval = common.interval or settings.default_interval
    timeout = common.timeout or settings.default_timeout
    if timeout > interval and common.schedule is None:
        problems.append(f"{prefix}.timeout: must not exceed the interval ({interval:g}s)")
        return None, problems
    return (
        CheckConfig(
            name=common.name or common.kind,
            kind=common.kind,
            common=common,
            options=options,
            raw_options=option_raw,
            interval=interval,
            timeout=timeout,
        ),
        problems,
    )


def parse_config(
    data: Mapping[str, Any], environ: Mapping[str, str] | None = None, path: str | None = None
) -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    allowed_top = {"auditor", "services", "alerting"}
    for key in data:
        if key not in allowed_top:
            problems.append(f"{key}: unknown key (allowed: auditor, services, alerting)")
    auditor_raw = dict(data.get("auditor") or {})
    overrides = _env_overrides(environ)
    auditor_raw.update(overrides)
    try:
        settings = AuditorSettings.model_validate(auditor_raw)
    except ValidationError as exc:
        for problem in _errors("auditor", exc):
            key = problem.split(":", 1)[0].removeprefix("auditor.").split("[")[0]
            if key in overrides:
                path, message = problem.split(": ", 1)
                problem = f"{path} (from {ENV_PREFIX}{key.upper()}): {message}"
            problems.append(problem)
        settings = AuditorSettings()
    try:
        alerting = AlertingModel.model_validate(data.get("alerting") or {})
    except ValidationError as exc:
        problems.extend(_errors("alerting", exc))
        alerting = AlertingModel()

    services: list[ServiceConfig] = []
    raw_services = data.get("services") or []
    if not isinstance(raw_services, list):
        problems.append("services: must be an array of tables ([[services]])")
        raw_services = []
    seen_names: dict[str, int] = {}
    for index, raw in enumerate(raw_services):
        prefix = f"services[{index}]"
        try:
            service = ServiceModel.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_errors(prefix, exc))
            continue
        if service.name in seen_names:
            problems.append(
                f"{prefix}.name: duplicate service name {service.name!r} "
                f"(also services[{seen_names[service.name]}])"
            )
            continue
        seen_names[service.name] = index
        checks: list[CheckConfig] = []
        check_names: dict[str, int] = {}
        for cindex, raw_check in enumerate(_expand_profile(service)):
            cprefix = f"{prefix}.checks[{cindex}]"
            if cindex >= len(service.checks):  # added by the profile, not in the file
                cprefix = f"{prefix}.profile({service.profile}).{raw_check.get('name') or raw_check['kind']}"
            built, errs = build_check(raw_check, settings, cprefix)
            problems.extend(errs)
            if built is None:
                continue
            if built.name in check_names:
                problems.append(
                    f"{cprefix}.name: duplicate check name {built.name!r} in service {service.name!r} "
                    f"(also checks[{check_names[built.name]}]); give one of them a name"
                )
                continue
            check_names[built.name] = cindex
            checks.append(built)
        services.append(
            ServiceConfig(
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
        )
    if problems:
        raise ConfigError(problems)
    return Config(auditor=settings, services=tuple(services), alerting=alerting, path=path)


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
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{file}: not valid TOML: {exc}"]) from exc
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read: {exc.strerror}"]) from exc
    return parse_config(data, environ, path=str(file))
