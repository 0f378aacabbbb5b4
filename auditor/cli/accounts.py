"""``auditor token``, ``auditor user`` and ``auditor secrets``: accounts and keys."""

from __future__ import annotations

import sys

import click

from auditor.cli.common import config_option
from auditor.cli.common import load as _load
from auditor.cli.common import open_store as _store
from checks.units import parse_duration


@click.group("token")
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
    from auditor.store.audit_log import cli_audit
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
    with cli_audit("token.create", "token"):
        row, plaintext = create_token(store, name=name, role=role, expires_at=expires_at)
    click.echo(
        f"created token {row.id} ({row.role}) named {row.name!r}; store it now, it is not shown again:",
        err=True,
    )
    click.echo(plaintext)


@click.group("user")
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
    from auditor.store.audit_log import cli_audit

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = _store(_load(config_path))
    try:
        with cli_audit("user.create", "user"):
            user = create_user(store, username=username, role=role, password=password)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"created user {user.username} ({user.role})")


@click.group("secrets")
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
