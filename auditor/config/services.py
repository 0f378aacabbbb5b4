"""``[[services]]`` and their ``[[services.checks]]``: the raw tables and their validated form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, StrictBool, ValidationError, field_validator

from auditor.config.errors import did_you_mean, validation_problems
from auditor.config.fields import StrictModel, require_http_url, require_slug
from auditor.config.locations import resolve_locations
from auditor.config.settings import AuditorSettings
from checks.base import Options
from checks.bounds import MAX_INTERVAL_S, Interval, Jitter, Timeout, format_duration
from checks.registry import get_check, known_kinds

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
        "locations",
        "quorum",
    }
)


class CheckCommon(StrictModel):
    """The shared part of a ``[[services.checks]]`` table."""

    kind: str
    name: str | None = None
    interval: Interval | None = None
    schedule: str | None = Field(None, max_length=120)
    timeout: Timeout | None = None
    severity: Literal["critical", "high", "medium", "low", "info"] = "high"
    level: Literal["bronze", "silver", "gold"] = "bronze"
    failure_threshold: int = Field(2, ge=1, le=100)
    success_threshold: int = Field(1, ge=1, le=100)
    consecutive_error_limit: int = Field(4, ge=1, le=1000)
    enabled: StrictBool = True
    blocking: StrictBool = False
    jitter: Jitter = 0.0
    description: str = Field("", max_length=2000)
    #: probe locations (a list, or "all": every ``[auditor] locations``); PostgreSQL only
    locations: list[str] | Literal["all"] | None = None
    quorum: int | None = Field(None, ge=1, le=100)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return value if value is None else require_slug(value)

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


def _interval(
    common: CheckCommon, settings: AuditorSettings, prefix: str
) -> tuple[float, str | None]:
    """Seconds between runs: ``interval``, the default, or a cron schedule's longest gap
    (which, like ``interval``, must be at most 7d: staleness and leases reason in it)."""
    if common.schedule is None:
        return common.interval or settings.default_interval, None
    from auditor.schedule.triggers import cron_period

    period = cron_period(common.schedule)
    if period > MAX_INTERVAL_S:
        limit = format_duration(MAX_INTERVAL_S)
        return period, f"{prefix}.schedule: must fire at least every {limit}"
    return period, None


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
    #: resolved probe locations ("all" expanded) and quorum; () / None: no locations
    locations: tuple[str, ...] = ()
    quorum: int | None = None

    @property
    def schedule(self) -> str | None:
        return self.common.schedule


class ServiceModel(StrictModel):
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
        return require_slug(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        require_http_url(value)
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


def _kind_problem(kind: object, prefix: str) -> str | None:
    """None when ``kind`` is implemented; else the problem, with a "did you mean"."""
    try:
        get_check(str(kind))
    except LookupError as exc:
        return f"{prefix}.kind: {exc}{did_you_mean(str(kind), known_kinds())}"
    return None


def build_check(
    raw: Mapping[str, Any], settings: AuditorSettings, prefix: str
) -> tuple[CheckConfig | None, list[str]]:
    """Validate one check table (shared keys + the kind's options); return it or the problems.

    Every problem is collected: a bad shared key does not hide a bad option of the kind.
    """
    if not isinstance(raw, Mapping):
        return None, [f"{prefix}: must be a table"]
    problems: list[str] = []
    common_raw = {k: v for k, v in raw.items() if k in COMMON_CHECK_KEYS}
    option_raw = {k: v for k, v in raw.items() if k not in COMMON_CHECK_KEYS}
    common: CheckCommon | None = None
    try:
        common = CheckCommon.model_validate(common_raw)
    except ValidationError as exc:
        problems.extend(validation_problems(prefix, exc))
    kind = raw.get("kind")
    kind_problem = _kind_problem(kind, prefix) if isinstance(kind, str) else None
    if kind_problem:
        problems.append(kind_problem)
    options: Options | None = None
    if isinstance(kind, str) and not kind_problem:
        model = get_check(kind).Options
        try:
            options = model.model_validate(option_raw)
        except ValidationError as exc:
            problems.extend(validation_problems(prefix, exc, model, also=COMMON_CHECK_KEYS))
    if common is None or options is None:
        return None, problems
    if common.schedule is not None and common.interval is not None:
        return None, [f"{prefix}.schedule: set either interval or schedule, not both"]
    interval, problem = _interval(common, settings, prefix)
    if problem:
        return None, [problem]
    # as Prometheus does with scrape_timeout: an unset timeout follows a short interval down;
    # only a timeout written on the check itself may be judged too long for it
    timeout = common.timeout or min(settings.default_timeout, interval)
    for key, value in (("timeout", timeout), ("jitter", common.jitter)):
        if value > interval:
            problems.append(f"{prefix}.{key}: must not exceed the interval ({interval:g}s)")
    locations, quorum, located = resolve_locations(
        common.locations, common.quorum, settings.locations, settings.database_url, prefix
    )
    problems.extend(located)
    if problems:
        return None, problems
    return (
        CheckConfig(
            locations=locations,
            quorum=quorum,
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
