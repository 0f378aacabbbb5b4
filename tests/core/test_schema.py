"""Our own Alembic migrations build exactly the schema the models describe (SQLite and
PostgreSQL): a model change without its migration (an index, a column) fails here. Nodes
started together migrate and sync the config file one at a time, none failing."""

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
from auditor.config import load_config
from auditor.config.sync import sync_config
from auditor.store.db import Database
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every process starts at once
db = Database(sys.argv[1])
if len(sys.argv) > 3:  # then syncs the same config file, as every node does on start
    sync_config(db, load_config(sys.argv[3]))
db.close()
"""


def start_together(db_url: str, *extra: str, count: int = 4) -> list[str]:
    """Run STARTER in ``count`` processes that begin at the same instant; their errors."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    start_at = str(time.time() + 4.0)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, db_url, start_at, *extra],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(count)
    ]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            errors.append(err[-1500:])
    return errors


def test_workers_starting_together_on_an_empty_database_all_come_up(db_url: str) -> None:
    """Workers started at once (systemd, a deploy) all migrate the same empty database;
    none may die on another's half-made ``alembic_version`` or tables."""
    from alembic.script import ScriptDirectory

    from auditor.store.db import alembic_config, current_revision

    errors = start_together(db_url)
    assert errors == []
    engine = sa.create_engine(db_url)
    try:
        heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
        assert set((current_revision(engine) or "").split(", ")) == heads
    finally:
        engine.dispose()


def test_nodes_starting_together_sync_one_config_once(db_url: str, tmp_path: object) -> None:
    """Every node syncs the same config file on start; started together, none may die on a
    duplicate service or check, and each is stored once."""
    from pathlib import Path

    config = Path(str(tmp_path)) / "auditor.toml"
    config.write_text(
        "".join(
            f'[[services]]\nname = "svc{i}"\nurl = "https://svc{i}.example"\n'
            '[[services.checks]]\nkind = "health"\n'
            '[[services.checks]]\nkind = "tls"\n'
            for i in range(20)
        )
    )
    assert start_together(db_url, str(config)) == []
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            services = conn.execute(sa.text("SELECT count(*) FROM service")).scalar_one()
            checks = conn.execute(sa.text("SELECT count(*) FROM check_def")).scalar_one()
    finally:
        engine.dispose()
    assert (services, checks) == (20, 40)
