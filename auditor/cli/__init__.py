"""The ``auditor`` command line (DESIGN §5)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Sequence

import click

from auditor.cli.common import config_option, require_file
from auditor.cli.common import load as _load
from auditor.cli.common import open_store as _store
from auditor.config import Config
from auditor.config.sync import sync_config
from auditor.logging import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deployment-auditor")
def main() -> None:
    """Deployment readiness auditor: checks every service against the deployment checklist."""


def _daemon(config_path: str | None, *, with_worker: bool, with_web: bool) -> None:
    """Shared start-up of the long-running commands; a process that schedules syncs the file."""
    from auditor.process.daemon import run_daemon

    config = _load(config_path)
    configure_logging(config.auditor.log_level)
    _log_preflight(config)
    store = _store(config)
    if with_worker:
        sync_config(store, config)
    sys.exit(run_daemon(config, store, with_worker=with_worker, with_web=with_web))


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

    require_file(config_path)
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

    configure_logging("info")
    sys.exit(run_demo(data_dir, listen, once=once))


from auditor.cli.accounts import secrets_group, token_group, user_group  # noqa: E402
from auditor.cli.gate import gate  # noqa: E402

for _command in (token_group, user_group, secrets_group, gate):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
