"""Our own Alembic migrations build exactly the schema the models describe (SQLite and
PostgreSQL): a model change without its migration (an index, a column) fails here."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import auditor.store.models  # noqa: F401  (registers every table)
from auditor.store.db import Database


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    Database(db_url).close()  # upgrade to every head
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diffs = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diffs == []


STARTER = """
import sys, time
from auditor.store.db import Database
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every process migrates at once
Database(sys.argv[1]).close()
"""


def test_workers_starting_together_on_an_empty_database_all_come_up(db_url: str) -> None:
    """Three workers started at once (systemd, a deploy) all migrate the same empty database;
    none may die on another's half-made ``alembic_version`` or tables."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from alembic.script import ScriptDirectory

    from auditor.store.db import alembic_config, current_revision

    start_at = str(time.time() + 4.0)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, db_url, start_at],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            errors.append(err[-1500:])
    assert errors == []
    engine = sa.create_engine(db_url)
    try:
        heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
        assert set((current_revision(engine) or "").split(", ")) == heads
    finally:
        engine.dispose()
