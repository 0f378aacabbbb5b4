"""Migration m004_check_locations on a database with history, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from auditor.store.db import MIGRATIONS_DIR, make_engine, upgrade


def _alembic_config(engine: sa.Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def test_existing_runs_get_no_location_and_the_runs_counter_keeps_counting(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        script = ScriptDirectory(str(MIGRATIONS_DIR))
        for head in script.get_heads():
            if head != "m004_check_locations":
                upgrade(engine, head)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO service (id, name, url, environment, owner, tags, public, "
                    "description, source, enabled, created_at, updated_at) VALUES "
                    "('s1', 'shop', 'http://x.test', 'production', '', '[]', false, '', "
                    "'config', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO check_def (id, service_id, name, kind, options, interval_s, "
                    "jitter_s, timeout_s, severity, level, failure_threshold, success_threshold, "
                    "consecutive_error_limit, blocking, description, enabled, source, "
                    "config_hash, created_at, updated_at) VALUES ('c1', 's1', 'health', "
                    "'health', '{}', 60, 0, 10, 'high', 'bronze', 2, 1, 4, false, '', true, "
                    "'config', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(_run("r1", "2026-12-04 08:00:00"))
        upgrade(engine, "heads")
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT location FROM run")).scalar_one() == ""
            assert conn.execute(sa.text("SELECT locations FROM check_def")).scalar_one() in (
                "[]",
                [],
            )
            conn.execute(_run("r2", "2026-12-04 08:01:00"))
            total = conn.execute(
                sa.text("SELECT total FROM metric_counter WHERE family = 'runs' AND b = 'pass'")
            ).scalar_one()
            assert total == 2  # the trigger survived SQLite's rebuild of the run table
        with engine.begin() as conn:
            cfg = _alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "m004_check_locations@-1")
        with engine.connect() as conn:
            cols = {c["name"] for c in sa.inspect(conn).get_columns("run")}
            assert "location" not in cols
            assert "check_location" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


def _run(run_id: str, at: str) -> sa.TextClause:
    return sa.text(
        "INSERT INTO run (id, check_id, service_id, status, summary, findings, facts, "
        f"duration_ms, started_at, due_at, created_at) VALUES ('{run_id}', 'c1', 's1', 'pass', "
        f"'', '[]', '{{}}', 1.0, '{at}', '{at}', '{at}')"
    )
