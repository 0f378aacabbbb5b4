"""``auditor token``, ``auditor user`` and ``auditor secrets``: accounts and keys."""

from __future__ import annotations

import sys
from collections.abc import Sequence

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
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["evidence"]),
    help="A grant beyond the role: evidence (push CI/CD evidence and deploy events).",
)
@click.option(
    "--expires",
    default=None,
    help='Lifetime, e.g. "30d" (default: [web] token_ttl, 90d), or "never".',
)
def token_create(
    config_path: str | None, role: str, name: str, scopes: tuple[str, ...], expires: str | None
) -> None:
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
        row, plaintext = create_token(
            store, name=name, role=role, expires_at=expires_at, scopes=scopes
        )
    click.echo(
        f"created token {row.id} ({row.role}{''.join(f', scope {x}' for x in row.scopes)}) "
        f"named {row.name!r}; store it now, it is not shown again:",
        err=True,
    )
    click.echo(plaintext)


format_option = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


def _when(value: object) -> str:
    from datetime import datetime

    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else "-"


def _iso(value: object) -> str | None:
    from datetime import datetime

    return value.isoformat() if isinstance(value, datetime) else None


def _print_rows(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """Aligned columns a person reads and ``awk`` splits (no cell holds a space run)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@token_group.command("list")
@config_option
@format_option
def token_list(config_path: str | None, fmt: str) -> None:
    """Every API token, newest first, with its state (active, expired, revoked)."""
    import json

    from auditor.store.accounts import all_tokens
    from auditor.store.models import utcnow

    now = utcnow()
    tokens = all_tokens(_store(_load(config_path)))

    def state(t: object) -> str:
        if getattr(t, "revoked_at", None) is not None:
            return "revoked"
        expires = getattr(t, "expires_at", None)
        return "expired" if expires is not None and expires <= now else "active"

    if fmt == "json":
        keys = ("created_at", "expires_at", "last_used_at", "revoked_at")
        out = [
            {
                "id": t.id,
                "name": t.name,
                "role": t.role,
                "scopes": list(t.scopes or []),
                "prefix": t.prefix,
                "state": state(t),
                "created_by": t.created_by,
                **{k: _iso(getattr(t, k)) for k in keys},
            }
            for t in tokens
        ]
        click.echo(json.dumps(out, indent=2))
        return
    if not tokens:
        click.echo("no API tokens (create one: auditor token create --role viewer --name NAME)")
        return
    header = ("ID", "NAME", "ROLE", "PREFIX", "STATE", "EXPIRES", "LAST USED")
    _print_rows(
        header,
        [
            (
                t.id,
                t.name.replace(" ", "_"),
                t.role,
                t.prefix,
                state(t),
                _when(t.expires_at) if t.expires_at else "never",
                _when(t.last_used_at),
            )
            for t in tokens
        ],
    )


@token_group.command("revoke")
@config_option
@click.argument("token_id")
def token_revoke(config_path: str | None, token_id: str) -> None:
    """Revoke the token TOKEN_ID (see `auditor token list`); the API refuses it at once."""
    from auditor.store.accounts import revoke_token
    from auditor.store.audit_log import cli_audit
    from auditor.store.errors import NotFound
    from auditor.store.models import utcnow

    store = _store(_load(config_path))
    now = utcnow()
    try:
        with cli_audit("token.revoke", "token"):
            row = revoke_token(store, token_id, now)
    except NotFound:
        click.echo(f"error: no token with id {token_id!r} (see: auditor token list)", err=True)
        sys.exit(2)
    if row.revoked_at is not None and row.revoked_at < now:
        click.echo(f"token {row.id} ({row.name!r}) was already revoked at {_when(row.revoked_at)}")
    else:
        click.echo(f"revoked token {row.id} ({row.name!r}, {row.role})")


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


@user_group.command("list")
@config_option
@format_option
def user_list(config_path: str | None, fmt: str) -> None:
    """Every dashboard user (deleted ones left out), by username."""
    import json

    from auditor.store.accounts import live_users

    users = live_users(_store(_load(config_path)))
    if fmt == "json":
        out = [
            {
                "id": u.id,
                "username": u.username,
                "role": u.role,
                "totp": u.totp_secret is not None,
                "created_at": _iso(u.created_at),
                "password_changed_at": _iso(u.password_changed_at),
            }
            for u in users
        ]
        click.echo(json.dumps(out, indent=2))
        return
    if not users:
        click.echo(
            "no users (create the first admin: auditor user create --username admin --role admin)"
        )
        return
    rows = [
        (
            u.username,
            u.role,
            "on" if u.totp_secret else "off",
            _when(u.created_at),
            _when(u.password_changed_at),
        )
        for u in users
    ]
    _print_rows(("USERNAME", "ROLE", "TOTP", "CREATED", "PASSWORD CHANGED"), rows)


@user_group.command("reset-password")
@config_option
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def user_reset_password(config_path: str | None, username: str, password_stdin: bool) -> None:
    """Set a new password for a user and sign out all of their dashboard sessions."""
    from auditor.store.accounts import reset_password
    from auditor.store.audit_log import cli_audit
    from auditor.store.errors import NotFound
    from auditor.store.models import utcnow

    store = _store(_load(config_path))
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        with cli_audit("user.update", "user"):
            user, ended = reset_password(store, username, password, utcnow())
    except NotFound:
        click.echo(f"error: no user named {username!r} (see: auditor user list)", err=True)
        sys.exit(2)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(
        f"password of {user.username} reset; {ended} dashboard session(s) signed out "
        "(API tokens are not affected: auditor token list / auditor token revoke)"
    )


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
