"""The ``[alerting]`` table: receivers and maintenance windows (DESIGN §7)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from auditor.config.apprise_urls import slack_url
from auditor.config.errors import did_you_mean
from auditor.config.fields import StrictModel, require_http_url
from checks.bounds import Age, Timeout


class ReceiverModel(StrictModel):
    """One ``[[alerting.receivers]]`` entry (DESIGN §7 contract)."""

    name: str
    type: Literal["webhook", "slack", "email", "alertmanager", "apprise"]
    url: str | None = None
    url_env: str | None = None
    secret_env: str | None = None
    #: webhook: send without signatures (only when said explicitly; see webhook_secret.py)
    unsigned: StrictBool = False
    match: dict[str, list[str]] = {}
    send_resolved: StrictBool = True
    repeat_interval: Age | None = None
    # e-mail
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    starttls: StrictBool = True
    username_env: str | None = None
    password_env: str | None = None
    from_addr: str | None = Field(None, alias="from")
    to: list[str] = []
    timeout: Timeout = 10.0

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
        if self.type == "slack" and self.url:
            slack_url(self.url)  # a ValueError naming what a slack URL may be, not the URL
        self._signing()
        return self

    def _signing(self) -> None:
        """A webhook is signed unless ``unsigned = true`` says otherwise, never silently."""
        if self.type != "webhook":
            if self.unsigned:
                raise ValueError("unsigned applies to webhook receivers only")
            return
        if self.unsigned and self.secret_env:
            raise ValueError("set secret_env or unsigned = true, not both")
        if not (self.unsigned or self.secret_env):
            raise ValueError(
                "a webhook needs secret_env (HMAC key) — or set unsigned = true to send unsigned"
            )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A webhook's or Alertmanager's URL (Slack and Apprise URLs have their own rules:
        apprise_urls.py)."""
        if value is None or info.data.get("type") not in ("webhook", "alertmanager"):
            return value
        return require_http_url(value)

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


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 date and time (``Z`` or an offset; none means UTC), in UTC."""
    if not value:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


class MaintenanceModel(StrictModel):
    """One ``[[alerting.maintenance]]`` window: one-off (``start``/``end``) or recurring
    (``schedule`` + ``duration``); checked at load, so a typo never silences nothing."""

    name: str
    services: list[str] = []
    start: str | None = None
    end: str | None = None
    schedule: str | None = None
    duration: Age | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: object) -> object:
        if isinstance(value, datetime):  # a TOML date-time literal
            value = value.isoformat()
        if isinstance(value, str):
            try:
                parse_time(value)
            except ValueError:
                raise ValueError(
                    f'{value!r} is not a date and time (ISO 8601, e.g. "2026-05-01T22:00:00Z")'
                ) from None
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, value: str | None, info: ValidationInfo) -> str | None:
        start, end = parse_time(info.data.get("start")), parse_time(value)
        if start and end and end <= start:
            raise ValueError(f"{value} must be after start ({info.data.get('start')})")
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

    @model_validator(mode="after")
    def _window(self) -> MaintenanceModel:
        if self.schedule and not self.duration:
            raise ValueError("a schedule needs a duration (how long each window lasts)")
        if self.duration and not self.schedule:
            raise ValueError("duration applies to a recurring window: set schedule too")
        if not (self.start or self.end or self.schedule):
            raise ValueError("a window needs start and end, or schedule and duration")
        return self


class AlertingModel(StrictModel):
    receivers: list[ReceiverModel] = []
    maintenance: list[MaintenanceModel] = []


def maintenance_service_problems(raw_alerting: Any, raw_services: Any) -> list[str]:
    """A window naming a service the file does not define would silence nothing: refused.
    (A window for a service made through the API is made through the API too.) Read from
    the raw tables, so a window's other mistakes do not hide this one."""
    windows = raw_alerting.get("maintenance") if isinstance(raw_alerting, Mapping) else None
    if not isinstance(windows, list) or not isinstance(raw_services, list):
        return []
    names = {str(raw["name"]) for raw in raw_services if isinstance(raw, Mapping) and "name" in raw}
    known = ", ".join(sorted(names)) or "none"
    out = []
    for index, window in enumerate(windows):
        services = window.get("services") if isinstance(window, Mapping) else None
        for sindex, name in enumerate(services if isinstance(services, list) else []):
            if isinstance(name, str) and name not in names:
                hint = did_you_mean(name, names) or f" (services in this file: {known})"
                out.append(
                    f"alerting.maintenance[{index}].services[{sindex}]: unknown service "
                    f"{name!r}{hint}"
                )
    return out
