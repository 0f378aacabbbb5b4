"""Engine creation and schema migrations for the store.

SQLite gets WAL, a busy timeout and foreign keys on every connection; writes use
``BEGIN IMMEDIATE`` (see ``Database.write``) so a read-then-write transaction cannot fail with
SQLITE_BUSY half-way. PostgreSQL gets a pool sized for the worker's write batches.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, select

from auditor.store.lastuse import close_recorder

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` for psycopg 3, like the DSNs operators paste."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        _configure_sqlite(engine)
        return engine
    kwargs: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_pre_ping": True,
    }
    return create_engine(url, **kwargs)


def _enter_wal(cur: Any, patience_s: float = 30.0) -> None:
    """``PRAGMA journal_mode=WAL``, waiting out other processes opening the same new file.

    Switching a fresh database to WAL needs it to itself, and SQLite answers "database is
    locked" at once (no busy handler) while another process is switching or writing: nodes
    started together on a new file would die on it. Once in WAL mode (it persists) the pragma
    returns at once.
    """
    deadline = time.monotonic() + patience_s
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        _enter_wal(cur)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


#: PostgreSQL advisory locks (arbitrary constants: "audi", "auds" in ASCII) that let one
#: of several processes started together migrate the schema / sync the config file at a time
MIGRATION_LOCK_KEY = 0x61756469
CONFIG_SYNC_LOCK_KEY = 0x61756473


def hold_exclusive(conn: Connection | Session, key: int) -> None:
    """Wait for and hold, until this transaction ends, the lock ``key`` shared by every
    process on the database. PostgreSQL: a transaction-scoped advisory lock; SQLite needs
    none (a write transaction there is ``BEGIN IMMEDIATE``: one writer at a time)."""
    dialect = conn.dialect if isinstance(conn, Connection) else conn.get_bind().dialect
    if dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply our own Alembic migrations (idempotent; also run on every start).

    ``heads``: features add migrations on their own branches off the initial schema.
    """
    cfg = alembic_config(engine)
    with engine.connect() as connection:
        # Workers started together on an empty database must not race to create
        # ``alembic_version`` and the tables: one migrates, the others wait and find it done.
        # SQLite: the write lock from the first statement on (BEGIN IMMEDIATE); PostgreSQL:
        # a transaction-scoped advisory lock (its DDL is transactional, so the waiters see
        # the finished schema).
        connection = connection.execution_options(sqlite_immediate=True)
        with connection.begin():
            hold_exclusive(connection, MIGRATION_LOCK_KEY)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The applied revision(s), comma-separated (feature migrations branch off the initial one)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(sorted(heads)) or None


class Database:
    """The engine and its sessions; one per process, shared by every repository and thread.

    Repositories (``auditor.store.*``) take a ``Database`` and own their SQL; nothing else
    in the store is shared between them.
    """

    def __init__(self, url: str, *, pool_size: int = 10, migrate: bool = True) -> None:
        self.url = normalise_url(url)
        self.engine: Engine = make_engine(self.url, pool_size=pool_size)
        self.dialect = self.engine.dialect.name
        self.generation = 0  # foreground writes so far (see ``write``)
        if migrate:
            self.upgrade()

    def upgrade(self) -> None:
        upgrade(self.engine)

    def close(self) -> None:
        close_recorder(self)  # its pending "last used" stamps, then no more writes
        self.engine.dispose()

    @contextmanager
    def write(self, *, background: bool = False) -> Iterator[Session]:
        """A short write transaction (``BEGIN IMMEDIATE`` on SQLite); commits on success.

        Every foreground write bumps ``generation``, so read caches in this process see it
        at once; ``background`` writes (the worker's batches) leave caches to their TTL.
        """
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                yield session
                session.flush()
        if not background:
            self.generation += 1

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:
            return False

    def insert(self, table: Any) -> Any:
        """An INSERT that knows the dialect's ``ON CONFLICT`` forms where it has them."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        if self.dialect == "sqlite":
            return sqlite.insert(table)
        return sa.insert(table)

    def count(self, model: Any) -> int:
        with self.read() as s:
            return int(s.exec(select(sa.func.count()).select_from(model)).one())
