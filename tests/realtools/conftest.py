"""Real migration tools, run for real, against real SQLite, PostgreSQL and MariaDB databases.

Each test migrates a throw-away database with the tool itself, takes the release's expected
state from the tool's own listing command (what a CI job would publish), and runs our
``migrations`` check against it. A tool that is not installed skips its tests with the reason
(``make test`` installs them: ``tests/realtools/install.sh``), except under CI=true, where
that fails.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.migrations import MigrationsCheck
from tests.checks.data.dbs import MY, PG, unavailable

HERE = Path(__file__).resolve().parent
NODE_BIN = HERE / "node" / "node_modules" / ".bin"
VENV_BIN = Path(sys.executable).parent


def need(tool: str, path: str | Path | None = None) -> str:
    """The tool's executable, or a skip (a failure under CI=true) naming how to install it."""
    found = str(path) if path is not None and Path(path).exists() else shutil.which(tool)
    if found is None and (VENV_BIN / tool).exists():
        found = str(VENV_BIN / tool)
    if found is None:
        reason = f"{tool} is not installed (make test installs it: tests/realtools/install.sh)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    return found


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 180) -> str:  # fmt: skip
    """Run a tool; on failure the test fails with its output."""
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


@dataclass
class Engine:
    """One fresh database: its dialect and how each tool spells its address."""

    dialect: str  # sqlite | postgresql | mysql
    name: str
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def dsn(self) -> str:
        """SQLAlchemy-style URL: what the auditor's dsn_env holds (and Alembic takes)."""
        if self.dialect == "sqlite":
            return f"sqlite:///{self.path}"
        if self.dialect == "postgresql":
            return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        return f"mysql+pymysql://root@127.0.0.1:3306/{self.name}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.dialect == "sqlite":
            con = sqlite3.connect(self.path)  # type: ignore[arg-type]
            try:
                return con.execute(sql).fetchall()
            finally:
                con.commit()
                con.close()
        if self.dialect == "postgresql":
            import psycopg

            with psycopg.connect(**{**PG, "dbname": self.name}, autocommit=True) as con:
                cur = con.execute(sql)
                return cur.fetchall() if cur.description else []
        import pymysql

        con = pymysql.connect(**MY, database=self.name, autocommit=True)
        try:
            with con.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            con.close()


def make_engine(dialect: str, tmp_path: Path) -> Iterator[Engine]:
    name = "rt_" + uuid.uuid4().hex[:12]
    if dialect == "sqlite":
        yield Engine("sqlite", name, path=tmp_path / f"{name}.db")
        return
    if dialect == "postgresql":
        import psycopg

        try:
            admin = psycopg.connect(**PG, connect_timeout=3, autocommit=True)
        except Exception as exc:
            unavailable("PostgreSQL at 127.0.0.1:5432", exc)
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield Engine("postgresql", name)
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.close()
        return
    import pymysql

    try:
        admin = pymysql.connect(**MY, connect_timeout=3, autocommit=True)
    except Exception as exc:
        unavailable("MariaDB at 127.0.0.1:3306", exc)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    try:
        yield Engine("mysql", name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE `{name}`")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    yield from make_engine(request.param, tmp_path)


async def audit(engine: Engine, tool: str = "auto", **options: Any) -> RunResult:
    """Our migrations check against the engine, as a config-file check would run it."""
    check = MigrationsCheck()
    opts = check.Options.model_validate({"tool": tool, "dsn_env": "APP_RO_DSN", **options})
    target = Target("svc", "https://svc.example", "migrations", "migrations", check_id="c1")
    return await run_check(check, target, opts, prober=HttpProber(), timeout=20,
                           environ={"APP_RO_DSN": engine.dsn})  # fmt: skip


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


def manifest(tmp_path: Path, text: str, name: str = "expected.txt") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every real-tool test is a slow one: ``make test-fast`` skips them."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)
