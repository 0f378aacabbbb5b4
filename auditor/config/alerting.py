"""The ``[alerting]`` table: receivers and maintenance windows (DESIGN §7)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, field_validator, model_validator

from auditor.config.apprise_urls import slack_url
from auditor.config.fields import StrictModel
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


class MaintenanceModel(StrictModel):
    name: str
    services: list[str] = []
    start: str | None = None
    end: str | None = None
    schedule: str | None = None
    duration: Age | None = None


class AlertingModel(StrictModel):
    receivers: list[ReceiverModel] = []
    maintenance: list[MaintenanceModel] = []
