"""Real-database fixtures: a fresh SQLite file, PostgreSQL schema or MariaDB database per test.

A server that is down skips its tests with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
MY = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def unavailable(what: str, exc: BaseException) -> None:
    reason = f"{what} is not reachable ({type(exc).__name__}: {exc})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


@dataclass
class LiveDb:
    dialect: str
    dsn: str
    conn: Any

    def run(self, statements: list[str]) -> None:
        cur = self.conn.cursor()
        for stmt in statements:
            cur.execute(stmt)
        cur.close()
        self.conn.commit()


def make_db(dialect: str, tmp_path: Path) -> Iterator[LiveDb]:
    name = "mig_" + uuid.uuid4().hex[:12]
    if dialect == "sqlite":
        path = tmp_path / "app.db"
        conn = sqlite3.connect(path)
        yield LiveDb("sqlite", f"sqlite:///{path}", conn)
        conn.close()
    elif dialect == "postgresql":
        import psycopg

        try:
            conn = psycopg.connect(**PG, connect_timeout=3, autocommit=True)
        except Exception as exc:
            unavailable("PostgreSQL at 127.0.0.1:5432", exc)
        conn.execute(f'CREATE SCHEMA "{name}"')
        conn.execute(f'SET search_path TO "{name}"')
        dsn = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{name}"
        try:
            yield LiveDb("postgresql", dsn, conn)
        finally:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')
            conn.close()
    else:
        import pymysql

        try:
            conn = pymysql.connect(**MY, connect_timeout=3, autocommit=True)
        except Exception as exc:
            unavailable("MariaDB at 127.0.0.1:3306", exc)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
            cur.execute(f"USE `{name}`")
        dsn = f"mysql+pymysql://root@127.0.0.1:3306/{name}"
        try:
            yield LiveDb("mysql", dsn, conn)
        finally:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE `{name}`")
            conn.close()
