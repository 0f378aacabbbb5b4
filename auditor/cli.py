"""The ``auditor`` command line (DESIGN §5)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from auditor.config import Config, ConfigError, default_config_path, load_config
from auditor.config.sync import sync_config
from auditor.logging import configure_logging
from checks.units import parse_duration

CONFIG_HELP = "Configuration file (default: $AUDITOR_CONFIG, else ./config.toml)."


def _load(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        where = path or default_config_path()
        click.echo(f"configuration error in {where}:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)


def _store(config: Config) -> Any:
    from auditor.store.db import Database

    try:
        return Database(
            config.auditor.database_url, pool_size=max(5, min(config.auditor.concurrency // 10, 20))
        )
    except Exception as exc:
        click.echo(
            f"cannot open the database {_redact(config.auditor.database_url)}: {exc}", err=True
        )
        sys.exit(1)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None, help=CONFIG_HELP
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deployment-auditor")
def main() -> None:
    """Deployment readiness auditor: checks every service against the deployment checklist."""


def _daemon(config_path: str | None, *, with_worker: bool, with_web: bool) -> None:
    """Shared start-up of the long-running commands; a process that schedules syncs the file."""
    from auditor.process.daemon import run_daemon

    config = _load(config_path)
    configure_logging(config.auditor.log_level)
    store = _store(config)
    if with_worker:
        sync_config(store, config)
    sys.exit(run_daemon(config, store, with_worker=with_worker, with_web=with_web))


@main.command()
@config_option
def serve(config_path: str | None) -> None:
    """Scheduler, workers, dashboard, API and metrics in one process."""
    _daemon(config_path, with_worker=True, with_web=True)


@main.command()
@config_option
def worker(config_path: str | None) -> None:
    """Only the scheduler and workers (scale out: run several against PostgreSQL)."""
    _daemon(config_path, with_worker=True, with_web=False)


@main.command()
@config_option
def web(config_path: str | None) -> None:
    """Only the dashboard, API and metrics."""
    _daemon(config_path, with_worker=False, with_web=True)


@main.command()
@config_option
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--kind", "kinds", multiple=True, help="Only checks of this kind (repeatable).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def audit(config_path: str | None, services: Sequence[str], kinds: Sequence[str], fmt: str) -> None:
    """Run the selected checks once now, store and print the results.

    Exit 0 when nothing failed or errored, 1 otherwise, 2 for a usage or config error.
    """
    from auditor.audit import run_audit

    config = _load(config_path)
    configure_logging("warning")
    known = {s.name for s in config.services}
    unknown = [s for s in services if s not in known]
    if unknown:
        click.echo(f"--service: unknown service(s): {', '.join(unknown)}", err=True)
        sys.exit(2)
    from checks.registry import get_check

    for kind in kinds:
        try:
            get_check(kind)
        except LookupError as exc:
            click.echo(f"--kind: {exc}", err=True)
            sys.exit(2)
    store = _store(config)
    sync_config(store, config, disable_missing=False)
    results = asyncio.run(
        run_audit(
            config,
            store,
            services=services,
            kinds=kinds,
            progress=fmt == "text" and sys.stderr.isatty(),
        )
    )
    summary = {"pass": 0, "warn": 0, "fail": 0, "error": 0}
    for r in results:
        summary[str(r.status)] += 1
    if fmt == "json":
        click.echo(
            json.dumps({"results": [r.to_dict() for r in results], "summary": summary}, indent=2)
        )
    else:
        from auditor.audit import print_text

        print_text(results, summary)
    sys.exit(1 if summary["fail"] or summary["error"] else 0)


@main.group("config")
def config_group() -> None:
    """Configuration commands."""


@config_group.command("check")
@config_option
def config_check(config_path: str | None) -> None:
    """Validate the configuration file; exit 2 and list every problem when it is wrong."""
    config = _load(config_path)
    checks = sum(len(s.checks) for s in config.services)
    click.echo(f"ok: {config.path or 'no file'}: {len(config.services)} services, {checks} checks")


@main.group("db")
def db_group() -> None:
    """Database commands."""


@db_group.command("upgrade")
@config_option
def db_upgrade(config_path: str | None) -> None:
    """Apply the auditor's own schema migrations (also done on every start)."""
    from auditor.store import db

    config = _load(config_path)
    store = _store(config)
    click.echo(f"database at revision {db.current_revision(store.engine)}")


@main.command()
@click.option(
    "--data-dir", type=click.Path(file_okay=False), default="demo-data", show_default=True
)
@click.option("--listen", default="127.0.0.1:8080", show_default=True)
@click.option(
    "--once", is_flag=True, help="Start the demo services, run one audit, print it and exit."
)
def demo(data_dir: str, listen: str, once: bool) -> None:
    """Start local demo services (one healthy, one broken) and the daemon against them."""
    from auditor.demo import run_demo

    configure_logging("info")
    sys.exit(run_demo(data_dir, listen, once=once))


@main.group("token")
def token_group() -> None:
    """API tokens."""


@token_group.command("create")
@config_option
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), required=True)
@click.option("--name", required=True)
@click.option(
    "--expires",
    default=None,
    help='Lifetime, e.g. "30d" (default: [web] token_ttl, 90d), or "never".',
)
def token_create(config_path: str | None, role: str, name: str, expires: str | None) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    from datetime import timedelta

    from auditor.store.accounts import create_token
    from auditor.store.models import utcnow

    config = _load(config_path)
    lifetime: float | None = config.web.token_ttl
    if expires is not None and expires.strip().lower() == "never":
        lifetime = None  # the config tier (whoever runs the CLI) may grant this; the API not
    elif expires is not None:
        try:
            lifetime = parse_duration(expires)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--expires") from exc
        if not 0 < lifetime <= 100 * 365 * 86400:
            raise click.BadParameter(
                'a positive duration up to 100 years (or "never")', param_hint="--expires"
            )
    expires_at = None if lifetime is None else utcnow() + timedelta(seconds=lifetime)
    store = _store(config)
    row, plaintext = create_token(store, name=name, role=role, expires_at=expires_at)
    click.echo(
        f"created token {row.id} ({row.role}) named {row.name!r}; store it now, it is not shown again:",
        err=True,
    )
    click.echo(plaintext)


@main.group("user")
def user_group() -> None:
    """Dashboard users."""


@user_group.command("create")
@config_option
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(config_path: str | None, username: str, role: str, password_stdin: bool) -> None:
    """Create a dashboard user (password from a prompt or --password-stdin)."""
    from auditor.store.accounts import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = _store(_load(config_path))
    try:
        user = create_user(store, username=username, role=role, password=password)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"created user {user.username} ({user.role})")


@main.group("secrets")
def secrets_group() -> None:
    """Secrets stored through the API (Fernet under AUDITOR_SECRET_KEY)."""


@secrets_group.command("rotate")
@config_option
def secrets_rotate(config_path: str | None) -> None:
    """Re-encrypt every stored secret under the first key of AUDITOR_SECRET_KEY.

    Prepend the new key (AUDITOR_SECRET_KEY="new,old"), run this, then drop the old key.
    """
    from auditor.store.secrets import SecretKeyMissing, SecretUndecryptable, rotate_store

    store = _store(_load(config_path))
    try:
        counts = rotate_store(store)
    except (SecretKeyMissing, SecretUndecryptable) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"re-encrypted {counts['checks']} check secret(s), {counts['users']} user secret(s)")


class _GateUsageError(click.UsageError):
    exit_code = 64


class _GateCommand(click.Command):
    """``gate`` maps click's usage errors (exit 2) to the contract's 64 (EX_USAGE)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise _GateUsageError(exc.format_message(), exc.ctx) from exc


@main.command(cls=_GateCommand)
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
            f"cannot open the database {_redact(config.auditor.database_url)}: {exc}", err=True
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


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
