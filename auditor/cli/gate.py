"""``auditor gate``: the CI/CD gate with the contract's exit codes (DESIGN §5)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from auditor.cli.common import config_option, redact_url, require_file
from auditor.config import ConfigError, default_config_path, load_config
from auditor.config.sync import sync_config
from auditor.logging import configure_logging
from checks.units import parse_duration


class _GateUsageError(click.UsageError):
    exit_code = 64


class _GateCommand(click.Command):
    """``gate`` maps click's usage errors (exit 2) to the contract's 64 (EX_USAGE)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _GateUsageError(exc.format_message(), exc.ctx) from exc


@click.command("gate", cls=_GateCommand)
@config_option
@click.argument("service")
@click.option("--min-score", type=click.IntRange(0, 100), default=0, help="Minimum score (0-100).")
@click.option(
    "--level",
    type=click.Choice(["bronze", "silver", "gold"]),
    default="bronze",
    show_default=True,
    help="Level the service must reach.",
)
@click.option("--strict", is_flag=True, help="Exit 2 when ready only with warnings.")
@click.option("--max-age", default=None, help='Treat results older than this as stale ("10m").')
@click.option("--fresh", is_flag=True, help="Run the service's checks now before deciding.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
)
def gate(
    config_path: str | None,
    service: str,
    min_score: int,
    level: str,
    strict: bool,
    max_age: str | None,
    fresh: bool,
    fmt: str,
) -> None:
    """CI/CD gate: is SERVICE ready to deploy? Exit 0 ready, 1 not ready, 2 warnings with
    --strict, 3 inconclusive (unknown or stale data), 64 usage error."""
    from auditor.readiness.gate import EXIT_INCONCLUSIVE, EXIT_USAGE, exit_code, render
    from auditor.readiness.queries import load_service_readiness
    from auditor.store.models import utcnow

    max_age_s = None
    if max_age is not None:
        try:
            max_age_s = float(parse_duration(max_age))
        except ValueError as exc:
            click.echo(f"Error: Invalid value for '--max-age': {exc}", err=True)
            sys.exit(EXIT_USAGE)
    require_file(config_path, EXIT_USAGE)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        click.echo(f"configuration error in {config_path or default_config_path()}:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_USAGE)
    configure_logging("warning")
    from auditor.store.db import Database

    try:
        store = Database(config.auditor.database_url)
    except Exception as exc:
        click.echo(
            f"cannot open the database {redact_url(config.auditor.database_url)}: {exc}", err=True
        )
        sys.exit(EXIT_INCONCLUSIVE)
    try:
        if fresh:
            if service not in {s.name for s in config.services}:
                click.echo(f"Error: --fresh: {service!r} is not a service in the config", err=True)
                sys.exit(EXIT_USAGE)
            from auditor.audit import run_audit

            sync_config(store, config, disable_missing=False)
            asyncio.run(run_audit(config, store, services=[service]))
        try:
            readiness = load_service_readiness(
                store,
                service,
                utcnow(),
                min_score=min_score,
                required_level=level,
                max_age_s=max_age_s,
            )
        except LookupError:
            if service in {s.name for s in config.services}:
                click.echo(f"{service}: INCONCLUSIVE — no results stored yet", err=True)
                sys.exit(EXIT_INCONCLUSIVE)
            click.echo(f"Error: unknown service {service!r}", err=True)
            sys.exit(EXIT_USAGE)
    finally:
        store.close()
    click.echo(render(readiness, fmt, strict=strict))
    sys.exit(exit_code(readiness, strict=strict))
