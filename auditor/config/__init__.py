"""TOML configuration (DESIGN §4): load, apply ``AUDITOR_*`` overrides, validate into typed models.

The package's public face. Where each part lives:

- :mod:`~auditor.config.load` — read the file, environment overrides, validate the document;
- :mod:`~auditor.config.settings` — the ``[auditor]`` table;
- :mod:`~auditor.config.services` — ``[[services]]`` and their checks (:func:`build_check`);
- :mod:`~auditor.config.profiles` — what the ``production`` profile adds;
- :mod:`~auditor.config.alerting` — receivers and maintenance windows;
- :mod:`~auditor.config.errors` — one problem per line, naming its key path;
- :mod:`~auditor.config.fields` — durations, slugs and the strict base model.
"""

from __future__ import annotations

from auditor.config.alerting import AlertingModel, MaintenanceModel, ReceiverModel
from auditor.config.errors import ConfigError, validation_problems
from auditor.config.fields import LEVELS, SEVERITIES, SLUG, Duration
from auditor.config.load import ENV_PREFIX, default_config_path, load_config, parse_config
from auditor.config.model import Config
from auditor.config.profiles import PRODUCTION_PROFILE, PROFILE_NEEDS_CONFIG
from auditor.config.services import (
    COMMON_CHECK_KEYS,
    CheckCommon,
    CheckConfig,
    ServiceConfig,
    ServiceModel,
    build_check,
)
from auditor.config.settings import AuditorSettings

__all__ = [
    "COMMON_CHECK_KEYS",
    "ENV_PREFIX",
    "LEVELS",
    "PRODUCTION_PROFILE",
    "PROFILE_NEEDS_CONFIG",
    "SEVERITIES",
    "SLUG",
    "AlertingModel",
    "AuditorSettings",
    "CheckCommon",
    "CheckConfig",
    "Config",
    "ConfigError",
    "Duration",
    "MaintenanceModel",
    "ReceiverModel",
    "ServiceConfig",
    "ServiceModel",
    "build_check",
    "default_config_path",
    "load_config",
    "parse_config",
    "validation_problems",
]
