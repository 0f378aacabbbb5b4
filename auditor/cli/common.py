"""What every command shares: loading the config file, opening the store, ``--config``."""

from __future__ import annotations

import sys
from typing import Any

import click

from auditor.config import Config, ConfigError, default_config_path, load_config

CONFIG_HELP = "Configuration file (default: $AUDITOR_CONFIG, else ./config.toml)."


def require_file(path: str | None, exit_code: int = 2) -> None:
    """Commands that judge the file (``config check``, ``audit``, ``gate``) need one: with no
    ``--config``, no ``$AUDITOR_CONFIG`` and no ``./config.toml``, "0 checks, all passed"
    would be a false success."""
    import os

    if path is not None or os.environ.get("AUDITOR_CONFIG"):
        return  # an explicit path that is missing is load_config's error
    default = default_config_path()
    if not os.path.exists(default):
        click.echo(
            f"no config file at {os.path.abspath(default)}; pass --config or create one "
            "(see config.example.toml)",
            err=True,
        )
        sys.exit(exit_code)


#: command-line options that reach the configuration as ``AUDITOR_*`` variables
OPTION_ENV = {"AUDITOR_LOCATION": "--location", "AUDITOR_SOURCE_ADDRESS": "--source-address"}


def load(path: str | None, *, listen: str | None = None) -> Config:
    """The validated configuration (exit 2 listing every problem); ``listen`` is a
    ``--listen`` option, which wins over ``AUDITOR_LISTEN`` and the file."""
    import os

    environ = os.environ if listen is None else {**os.environ, "AUDITOR_LISTEN": listen}
    try:
        return load_config(path, environ=environ)
    except ConfigError as exc:
        where = path or default_config_path()
        click.echo(f"configuration error in {where}:", err=True)
        for problem in exc.problems:
            if listen is not None:
                problem = problem.replace("(from AUDITOR_LISTEN)", "(from --listen)")
            for env, option in OPTION_ENV.items():  # options passed on through the environment
                if os.environ.get(f"_AUDITOR_FROM_{env}") == "1":
                    problem = problem.replace(f"(from {env})", f"(from {option})")
            click.echo(f"  {problem}", err=True)
        sys.exit(2)


def log_no_config_file() -> None:
    """``serve`` with no file runs with no services (added through the dashboard or API);
    say so, with where the file was looked for, so it is a choice and not an accident."""
    import os

    import structlog

    structlog.get_logger("auditor.cli").warning(
        "no_config_file",
        looked_for=os.path.abspath(default_config_path()),
        hint="starting with no services: add them on the dashboard's manage page, through "
        "the API, or in a config file (see config.example.toml)",
    )


def open_store(config: Config) -> Any:
    from auditor.store.db import Database

    try:
        return Database(
            config.auditor.database_url, pool_size=max(5, min(config.auditor.concurrency // 10, 20))
        )
    except Exception as exc:
        click.echo(
            f"cannot open the database {redact_url(config.auditor.database_url)}: {exc}", err=True
        )
        sys.exit(1)


def redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP
)
