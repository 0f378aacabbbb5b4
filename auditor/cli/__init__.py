"""The ``auditor`` command line (DESIGN §5)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from auditor.cli.common import config_option, log_no_config_file, require_file
from auditor.cli.common import load as _load
from auditor.cli.common import open_store as _store
from auditor.cli.locations import location_options, set_location
from auditor.config import Config
from auditor.config.sync import sync_config
from auditor.logging import configure_logging
from auditor.store.db import Database


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deployment-auditor")
def main() -> None:
    """Deployment readiness auditor: checks every service against the deployment checklist."""


def _daemon(
    config_path: str | None, *, with_worker: bool, with_web: bool, listen: str | None = None
) -> None:
    """Shared start-up of the long-running commands; a process that schedules syncs the file."""
    from auditor.process.daemon import run_daemon
    from auditor.process.port import PortBusy

    config = _load(config_path, listen=listen)
    configure_logging(config.auditor.log_level)
    _log_preflight(config)
    if config.path is None:
        log_no_config_file()
    store = _store(config)
    if with_worker:
        sync_config(store, config)
    try:
        code = run_daemon(config, store, with_worker=with_worker, with_web=with_web)
    except PortBusy as exc:
        store.close()
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(code)


listen_option = click.option(
    "--listen",
    default=None,
    metavar="HOST:PORT",
    help="Dashboard/API address (overrides AUDITOR_LISTEN and [auditor] listen).",
)


def _log_preflight(config: Config) -> None:
    """What ``config check`` would warn about is logged at start: the daemon runs, and the
    parts that need a missing variable or driver fail until it is there."""
    import structlog

    from auditor.config.preflight import preflight

    report = preflight(config)
    for line in (*report.problems, *report.warnings):
        structlog.get_logger("auditor.config").warning("config_preflight", problem=line)


@main.command()
@config_option
@listen_option
@location_options
def serve(
    config_path: str | None,
    listen: str | None,
    location: str | None,
    source_address: str | None,
) -> None:
    """Scheduler, workers, dashboard, API and metrics in one process."""
    set_location(location, source_address)
    _daemon(config_path, with_worker=True, with_web=True, listen=listen)


@main.command()
@config_option
@location_options
def worker(config_path: str | None, location: str | None, source_address: str | None) -> None:
    """Only the scheduler and workers (scale out: run several against PostgreSQL)."""
    set_location(location, source_address)
    _daemon(config_path, with_worker=True, with_web=False)


@main.command()
@config_option
@listen_option
def web(config_path: str | None, listen: str | None) -> None:
    """Only the dashboard, API and metrics."""
    _daemon(config_path, with_worker=False, with_web=True, listen=listen)


def _discover_for_audit(config: Config, store: Database, wanted: Sequence[str]) -> list[str]:
    """Read the discovery sources once (adding and updating, never archiving: the file may
    be cut down) so discovered services can be audited; the names still unknown."""
    from auditor.discovery import discover_once
    from auditor.store.service_admin import service_named

    asyncio.run(discover_once(config, store, archive=False))
    return [name for name in wanted if service_named(store, name) is None]


@main.command()
@config_option
@click.argument("url", required=False)
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--kind", "kinds", multiple=True, help="Only checks of this kind (repeatable).")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="With URL: trust this CA bundle (PEM) for its TLS and HTTPS checks.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def audit(
    config_path: str | None,
    url: str | None,
    services: Sequence[str],
    kinds: Sequence[str],
    ca_file: str | None,
    fmt: str,
) -> None:
    """Run the selected checks once now, store and print the results.

    With URL (``auditor audit https://api.example.com``), no config file is read: the
    production profile's machine checks run once against that URL, in a throw-away store.

    Exit 0 when nothing failed or errored, 1 otherwise, 2 for a usage or config error.
    """
    if url is None:
        if ca_file is not None:
            click.echo(
                "--ca-file: only with a URL (in a config file, set ca_file on the check)", err=True
            )
            sys.exit(2)
        require_file(config_path)
        config = _load(config_path)
    elif services or config_path:
        click.echo("a URL cannot be combined with --service or --config", err=True)
        sys.exit(2)
    _check_kinds(kinds)
    configure_logging("warning")
    if url is not None:
        import tempfile

        from auditor.cli.audit_url import BadTarget, describe, url_config

        with tempfile.TemporaryDirectory(prefix="auditor-audit-") as scratch:
            try:
                config = url_config(url, ca_file, f"sqlite:///{scratch}/audit.db", os.environ)
            except BadTarget as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(2)
            if fmt == "text":
                click.echo(describe(url, ca_file), err=True)
            code = _audit_and_print(config, (), kinds, fmt)
        sys.exit(code)
    known = {s.name for s in config.services}
    unknown = [s for s in services if s not in known]
    if unknown and not config.discovery:
        click.echo(f"--service: unknown service(s): {', '.join(unknown)}", err=True)
        sys.exit(2)
    sys.exit(_audit_and_print(config, services, kinds, fmt))


def _check_kinds(kinds: Sequence[str]) -> None:
    from checks.registry import get_check

    for kind in kinds:
        try:
            get_check(kind)
        except LookupError as exc:
            click.echo(f"--kind: {exc}", err=True)
            sys.exit(2)


def _audit_and_print(config: Any, services: Sequence[str], kinds: Sequence[str], fmt: str) -> int:
    """Sync, run, store and print (DESIGN §5's JSON); the exit code."""
    from auditor.audit import run_audit

    store = _store(config)
    try:
        sync_config(store, config, disable_missing=False)
        if config.discovery:
            known = {s.name for s in config.services}
            unknown = _discover_for_audit(config, store, [s for s in services if s not in known])
            if unknown:
                click.echo(f"--service: unknown service(s): {', '.join(unknown)}", err=True)
                sys.exit(2)
        results = asyncio.run(
            run_audit(
                config,
                store,
                services=services,
                kinds=kinds,
                progress=fmt == "text" and sys.stderr.isatty(),
            )
        )
    finally:
        store.close()
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
    return 1 if summary["fail"] or summary["error"] else 0


@main.group("config")
def config_group() -> None:
    """Configuration commands."""


@config_group.command("check")
@config_option
def config_check(config_path: str | None) -> None:
    """Validate the configuration file; exit 2 and list every problem when it is wrong.

    Also looks at this host: a database driver that is not installed is a problem (exit 2);
    an ``*_env`` variable that is not set is a warning (printed; exit stays 0).
    """
    from auditor.config.preflight import preflight

    require_file(config_path)
    config = _load(config_path)
    report = preflight(config)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.problems:
        click.echo(f"configuration error in {config.path}:", err=True)
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
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
    from auditor.process.port import PortBusy

    configure_logging("info")
    try:
        code = run_demo(data_dir, listen, once=once)
    except PortBusy as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(code)


from auditor.cli.accounts import secrets_group, token_group, user_group  # noqa: E402
from auditor.cli.evidence import evidence_group  # noqa: E402
from auditor.cli.gate import gate  # noqa: E402
from auditor.cli.health import healthcheck  # noqa: E402

for _command in (token_group, user_group, secrets_group, gate, healthcheck, evidence_group):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
