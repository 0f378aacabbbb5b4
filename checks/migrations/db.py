"""Read-only access to the service's database with plain SELECTs and hard timeouts.

A DSN holds a password, so nothing here ever puts it (or the URL) into a message: errors
name the environment variable instead. Drivers are used directly (psycopg, pymysql,
sqlite3 in ``mode=ro``) rather than a tool's own library, which may create tables or wait
on locks (reference/probes.md A.2).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from auditor.probe.interface import Endpoint
from checks.base import ProbeError

_PG_PASSTHROUGH = {
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "target_session_attrs",
    "sslnegotiation",
}


@dataclass(frozen=True)
class TableRef:
    """A table found in the database: its schema (None = the connection's default) and name."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


class Database:
    """One read-only connection; ``select`` returns rows as dicts with lower-case keys."""

    def __init__(self, dialect: str, conn: Any, deadline: float) -> None:
        self.dialect = dialect  # "sqlite" | "postgresql" | "mysql"
        self._conn = conn
        self._deadline = deadline
        self.default_schema = self._default_schema()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a broken connection must not mask the error
            self._conn.close()

    def quote(self, ident: str) -> str:
        if self.dialect == "mysql":
            return "`" + ident.replace("`", "``") + "`"
        return '"' + ident.replace('"', '""') + '"'

    def qualified(self, ref: TableRef) -> str:
        if ref.schema and self.dialect != "sqlite":
            return f"{self.quote(ref.schema)}.{self.quote(ref.name)}"
        return self.quote(ref.name)

    def select(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run one SELECT; ``%s`` placeholders work on every dialect."""
        if self.dialect == "sqlite":
            sql = sql.replace("%s", "?")
        cur = self._conn.cursor()
        try:
            cur.execute(sql, tuple(params))
            names = [str(d[0]).lower() for d in cur.description or ()]
            return [dict(zip(names, row, strict=False)) for row in cur.fetchall()]
        finally:
            cur.close()

    def _default_schema(self) -> str | None:
        if self.dialect == "postgresql":
            return str(self.select("SELECT current_schema() AS s")[0]["s"] or "public")
        if self.dialect == "mysql":
            row = self.select("SELECT DATABASE() AS s")[0]
            return str(row["s"]) if row["s"] else None
        return None

    def find_table(self, name: str, schemas: Sequence[str | None] = (None,)) -> TableRef | None:
        """The table called ``name`` (case-insensitively), looked up in ``schemas`` in order."""
        for schema in schemas:
            if self.dialect == "sqlite":
                rows = self.select(
                    "SELECT name FROM sqlite_master WHERE type IN ('table','view') "
                    "AND lower(name) = lower(%s)",
                    (name,),
                )
                if rows:
                    return TableRef(None, str(rows[0]["name"]))
                continue
            schema_name = schema or self.default_schema
            if schema_name is None:
                continue
            rows = self.select(
                "SELECT table_schema AS s, table_name AS n FROM information_schema.tables "
                "WHERE table_schema = %s AND lower(table_name) = lower(%s)",
                (schema_name, name),
            )
            if rows:
                # prefer the exact spelling when a schema has both (e.g. Pg quoted names)
                exact = [r for r in rows if r["n"] == name]
                row = (exact or rows)[0]
                return TableRef(str(row["s"]) if schema else None, str(row["n"]))
        return None

    def columns(self, ref: TableRef) -> set[str]:
        """Lower-case column names of a table."""
        if self.dialect == "sqlite":
            rows = self.select(f"PRAGMA table_info({self.quote(ref.name)})")
            return {str(r["name"]).lower() for r in rows}
        rows = self.select(
            "SELECT column_name AS c FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (ref.schema or self.default_schema, ref.name),
        )
        return {str(r["c"]).lower() for r in rows}


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return re.sub(r"://[^/@\s]*@", "://***@", text)


#: backend -> (the driver module the check connects with, its pip package); the ``+driver``
#: part of a DSN does not matter: the check always uses these
DRIVERS: dict[str, tuple[str, str]] = {
    "sqlite": ("sqlite3", "(part of Python)"),
    "postgresql": ("psycopg", "psycopg[binary]"),
    "mysql": ("pymysql", "PyMySQL"),
    "mariadb": ("pymysql", "PyMySQL"),
}


def dsn_from(environ: Mapping[str, str], env_name: str) -> str:
    """The DSN the ``dsn_env`` option names; a ``config`` error when the variable is unset."""
    dsn = environ.get(env_name)
    if not dsn:
        raise ProbeError("config", f"environment variable ${env_name} (dsn_env) is not set")
    return dsn


def dsn_preflight(environ: Mapping[str, str], env_name: str) -> list[tuple[str, str]]:
    """``config check``'s look at the host: the DSN's driver must be installed here."""
    dsn = environ.get(env_name)
    problem = driver_problem(dsn, env_name) if dsn else None
    return [("dsn_env", problem)] if problem else []


def driver_problem(dsn: str, env_name: str) -> str | None:
    """Why no connection could ever be made with ``dsn`` here — not a database URL, a
    database the check does not read, its driver not installed — or None. Imports the
    driver (an installed module can still fail to load, e.g. psycopg without libpq)."""
    import importlib

    from sqlalchemy.engine import make_url

    try:
        backend = make_url(dsn).get_backend_name()
    except Exception:
        return f"the DSN in ${env_name} is not a valid database URL"
    if backend not in DRIVERS:
        return (
            f"${env_name} names an unsupported database ({backend}); "
            "use postgresql://, mysql+pymysql:// or sqlite:///"
        )
    module, package = DRIVERS[backend]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return (
            f"${env_name} is a {backend} DSN but its driver, {module}, cannot be imported "
            f"({exc}); install it: pip install '{package}'"
        )
    return None


@contextmanager
def connect(
    dsn: str, env_name: str, timeout: float, endpoints_of: Callable[[str], list[Endpoint]]
) -> Iterator[Database]:
    """Open ``dsn`` read-only with connect and statement timeouts of at most ``timeout`` s.

    Raises ProbeError(``config``) for a bad URL and ProbeError(``unreachable`` / ``timeout``)
    when the server cannot be used; messages never contain the DSN or its password. Every host
    the DSN names is checked by ``endpoints_of`` (the prober's address policy) first (ProbeError ``blocked_by_policy``, no
    connection) and the driver is pointed at the pinned, allowed addresses only.
    """
    from sqlalchemy.engine import make_url

    endpoints = endpoints_of(dsn)
    try:
        url = make_url(dsn)
    except Exception:
        raise ProbeError("config", f"the DSN in ${env_name} is not a valid database URL") from None
    secrets = [dsn, url.password or ""]
    backend = url.get_backend_name()
    timeout = max(0.5, timeout)
    deadline = time.monotonic() + timeout
    where = f"{backend} database from ${env_name}"
    try:
        if backend == "sqlite":
            conn = _connect_sqlite(url.database or "", timeout, deadline)
            dialect = "sqlite"
        elif backend == "postgresql":
            conn = _connect_pg(url, timeout, endpoints)
            dialect = "postgresql"
        elif backend in ("mysql", "mariadb"):
            conn = _connect_mysql(url, timeout, endpoints[0].address if endpoints else None)
            dialect = "mysql"
        else:
            raise ProbeError(
                "config",
                f"${env_name} names an unsupported database ({backend}); "
                "use postgresql://, mysql+pymysql:// or sqlite:///",
            )
        db = Database(dialect, conn, deadline)
    except ProbeError:
        raise
    except Exception as exc:
        raise _classify(exc, where, secrets) from None
    try:
        yield db
    except ProbeError:
        raise
    except Exception as exc:
        raise _classify(exc, where, secrets, connected=True) from None
    finally:
        db.close()


#: driver messages meaning the connection itself went away mid-query
_CONNECTION_LOST = ("closed", "lost connection", "gone away", "terminat", "broken pipe", "reset")


def _classify(
    exc: BaseException, where: str, secrets: Sequence[str], connected: bool = False
) -> ProbeError:
    """Connecting failed: unreachable. A query failed on a live connection: query_failed
    (a wrong table, a missing column, no privilege), never "unreachable"."""
    text = _scrub(f"{type(exc).__name__}: {exc}".strip(), secrets)
    text = text.splitlines()[0] if text else type(exc).__name__
    low = text.lower()
    if (
        "timeout" in low
        or "timed out" in low
        or "canceling statement" in low
        or "interrupted" in low
        or "database is locked" in low
    ):
        return ProbeError("timeout", f"{where} did not answer in time ({text})")
    if connected and not any(word in low for word in _CONNECTION_LOST):
        return ProbeError("query_failed", f"a query on the {where} failed: {text}")
    return ProbeError("unreachable", f"cannot query the {where}: {text}")


def _connect_sqlite(path: str, timeout: float, deadline: float) -> sqlite3.Connection:
    if not path or path == ":memory:":
        raise ProbeError("config", "a sqlite DSN must name a database file (sqlite:///path)")
    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=timeout)

    def _over_deadline() -> int:
        return 1 if time.monotonic() > deadline else 0

    # sqlite has no statement timeout: abort any statement that runs past the deadline
    conn.set_progress_handler(_over_deadline, 10_000)
    return conn


def _connect_pg(url: Any, timeout: float, endpoints: Sequence[Endpoint]) -> Any:
    """libpq gets the checked host list with a pinned ``hostaddr`` per host ("" = a socket)."""
    import psycopg

    ms = int(timeout * 1000)
    extra: dict[str, Any] = {
        k: v for k, v in url.query.items() if k in _PG_PASSTHROUGH and isinstance(v, str)
    }
    options = (
        f"-c statement_timeout={ms} -c lock_timeout={ms} "
        "-c default_transaction_read_only=on -c idle_in_transaction_session_timeout=60000"
    )
    user_options = url.query.get("options")
    if isinstance(user_options, str):
        options = f"{user_options} {options}"
    conn = psycopg.connect(
        host=",".join(e.host.host for e in endpoints) or None,
        hostaddr=",".join(e.address or "" for e in endpoints) or None,
        port=",".join(str(e.host.port) for e in endpoints) or url.port,
        user=url.username,
        password=url.password,
        dbname=url.database,
        connect_timeout=max(1, int(timeout)),
        options=options,
        autocommit=True,
        **extra,
    )
    return conn


def _connect_mysql(url: Any, timeout: float, address: str | None = None) -> Any:
    import pymysql

    conn = pymysql.connect(
        host=address or url.host or "localhost",
        port=url.port or 3306,
        user=url.username or "",
        password=url.password or "",
        database=url.database,
        connect_timeout=max(1, int(timeout)),
        read_timeout=max(1, int(timeout) + 1),
        write_timeout=max(1, int(timeout) + 1),
        autocommit=True,
    )
    cur = conn.cursor()
    try:
        for stmt in (
            f"SET SESSION max_statement_time = {timeout:.3f}",  # MariaDB (seconds)
            f"SET SESSION max_execution_time = {int(timeout * 1000)}",  # MySQL (ms)
            f"SET SESSION lock_wait_timeout = {max(1, int(timeout))}",
            "SET SESSION TRANSACTION READ ONLY",
        ):
            try:
                cur.execute(stmt)
            except pymysql.MySQLError:
                continue  # the other server family's variable
    finally:
        cur.close()
    return conn
