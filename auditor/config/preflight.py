"""What ``auditor config check`` adds to loading: does this host have what the file relies on?

Loading judges the file alone. This looks at the environment the daemon will run in:

- a database driver that is not installed (the auditor's own ``database_url``, or the DSN a
  ``migrations`` check reads from its ``dsn_env``) is a **problem**: every run would fail;
- an ``*_env`` option naming a variable that is not set is a **warning**: the daemon starts,
  and what needs the variable (that check, that receiver, ``/metrics``) fails until it is
  set. ``config check`` prints warnings and still exits 0; the daemon logs them at start.

Only the config file's checks are looked at: they are the tier that may touch the host.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from auditor.config.locate import with_lines
from auditor.config.model import Config
from checks.registry import get_check

#: driver module -> the pip package that provides it
PIP_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
    "pyodbc": "pyodbc",
    "pymssql": "pymssql",
    "oracledb": "oracledb",
    "cx_Oracle": "cx_Oracle",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
    "aiosqlite": "aiosqlite",
    "aiomysql": "aiomysql",
    "asyncmy": "asyncmy",
    "mariadb": "mariadb",
}


@dataclass(frozen=True)
class Preflight:
    """``problems`` make ``config check`` exit 2; ``warnings`` are printed, exit stays 0."""

    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def store_driver_problem(url: str) -> str | None:
    """Why the auditor could not open its own database ``url`` on this host, or None."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from auditor.store.db import normalise_url

    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return 'is not a database URL, e.g. "sqlite:///auditor.db"'
    name = parsed.drivername
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"{name}:// is not a database SQLAlchemy knows (sqlite:// or postgresql://)"
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        module = exc.name or str(exc)
        package = PIP_PACKAGES.get(module, module)
        return f"the driver for {name}://, {module}, is not installed: pip install '{package}'"
    if dialect.is_async:
        return f"{name}:// is an asyncio driver; the store needs postgresql+psycopg://"
    return None


def _unset(name: object, environ: Mapping[str, str]) -> bool:
    return isinstance(name, str) and not environ.get(name)


def env_warnings(config: Config, environ: Mapping[str, str]) -> list[str]:
    """One line per ``*_env`` option whose variable is unset or empty (``secret_env`` of a
    webhook is not here: it is a load error, an unsigned alert being forgeable)."""
    out = []
    token_env = config.auditor.metrics_token_env
    if _unset(token_env, environ):
        out.append(
            f"auditor.metrics_token_env: environment variable {token_env} is not set; "
            "/metrics answers 503 until it is"
        )
    for index, rcv in enumerate(config.alerting.receivers):
        for key in ("url_env", "username_env", "password_env"):
            name = getattr(rcv, key)
            if _unset(name, environ):
                out.append(
                    f"alerting.receivers[{index}].{key}: environment variable {name} is not "
                    f"set; receiver {rcv.name!r} cannot deliver until it is"
                )
    for sindex, svc in enumerate(config.services):
        for cindex, chk in enumerate(svc.checks):
            for key, name in sorted(chk.raw_options.items()):
                if key.endswith("_env") and _unset(name, environ):
                    out.append(
                        f"services[{sindex}].checks[{cindex}].{key}: environment variable "
                        f"{name} is not set; check {svc.name}/{chk.name} reports an error "
                        "until it is"
                    )
    return out


def preflight(config: Config, environ: Mapping[str, str] | None = None) -> Preflight:
    """The host-dependent problems and warnings of a loaded configuration, each with its
    line in the file when it can be found (``config.toml:12: services[0]…``)."""
    environ = os.environ if environ is None else environ
    problems = []
    store = store_driver_problem(config.auditor.database_url)
    if store:
        source = " (from AUDITOR_DATABASE_URL)" if "AUDITOR_DATABASE_URL" in environ else ""
        problems.append(f"auditor.database_url{source}: {store}")
    for sindex, svc in enumerate(config.services):
        for cindex, chk in enumerate(svc.checks):
            for key, message in get_check(chk.kind).preflight(chk.options, environ):
                problems.append(f"services[{sindex}].checks[{cindex}].{key}: {message}")
    warnings = env_warnings(config, environ)
    if (problems or warnings) and config.path and Path(config.path).is_file():
        source = Path(config.path).read_text(encoding="utf-8")
        problems = with_lines(problems, source, config.path)
        warnings = with_lines(warnings, source, config.path)
    return Preflight(tuple(problems), tuple(warnings))
