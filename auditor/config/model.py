"""The whole validated configuration document: ``[auditor]``, ``[[services]]``, ``[alerting]``,
``[web]``, ``[security]``, ``[[discovery]]``."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.config.alerting import AlertingModel
from auditor.config.discovery import DiscoveryModel
from auditor.config.security import SecuritySettings
from auditor.config.services import ServiceConfig
from auditor.config.settings import AuditorSettings
from auditor.config.web import WebSettings


@dataclass(frozen=True)
class Config:
    auditor: AuditorSettings
    services: tuple[ServiceConfig, ...]
    alerting: AlertingModel = field(default_factory=AlertingModel)
    path: str | None = None
    web: WebSettings = field(default_factory=WebSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    discovery: tuple[DiscoveryModel, ...] = ()
