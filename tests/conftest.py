"""Shared fixtures: real databases (SQLite file, PostgreSQL schema per test), local servers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_ADMIN_URL = os.environ.get(
    "AUDITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI") == "true"


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=2
        ):
            return True
    except Exception:
        return False


def require_postgres() -> None:
    """Skip without PostgreSQL, except in CI where its absence is a failure."""
    if postgres_available():
        return
    if IN_CI:
        pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI but is not reachable")
    pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
    ) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
        ) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/auditor.db"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """Run a store test on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/auditor.db"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture(params=["httpx", "curl"])
def probe_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a module's tests once per probe engine (``[auditor] probe_engine``).

    A module opts in with ``pytestmark = pytest.mark.usefixtures("probe_engine")``; its
    ``HttpProber`` name then builds the engine under test, so every test written against the
    httpx prober holds the libcurl one to the same behaviour.
    """
    if request.param == "curl":
        from auditor.probe.curl_engine import CurlProber

        if hasattr(request.module, "HttpProber"):
            monkeypatch.setattr(request.module, "HttpProber", CurlProber)
    return str(request.param)
