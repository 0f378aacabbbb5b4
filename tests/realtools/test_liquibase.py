"""Liquibase: ``DATABASECHANGELOGLOCK.LOCKGRANTED`` is the JVM's local wall time with no zone.
A lock left by a killed run is aged by the database's own clock, and a lock dated in the
future (the JVM ran in a zone ahead of the database's) is flagged instead of trusted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from checks.base import RunStatus
from tests.realtools.conftest import HERE, Engine, audit, codes, make_engine, need, run

DIST = HERE / "node" / "node_modules" / "node-liquibase" / "dist"
CHANGELOG = """<?xml version="1.0" encoding="UTF-8"?>
<databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.liquibase.org/xml/ns/dbchangelog
    http://www.liquibase.org/xml/ns/dbchangelog/dbchangelog-4.3.xsd">
  <changeSet id="1" author="ci"><createTable tableName="orders">
    <column name="id" type="int"/></createTable></changeSet>
  <changeSet id="2" author="ci"><addColumn tableName="orders">
    <column name="total" type="decimal(10,2)"/></addColumn></changeSet>
%(extra)s
</databaseChangeLog>
"""
SLEEP = {"postgresql": "SELECT pg_sleep(120)", "mysql": "SELECT SLEEP(120)"}


@pytest.fixture(params=["postgresql", "mysql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    yield from make_engine(request.param, tmp_path)


def liquibase(engine: Engine, changelog: Path, tz: str = "UTC") -> list[str]:
    java = need("java")
    jar = DIST / "liquibase" / "liquibase.jar"
    need("liquibase.jar (node-liquibase)", jar)
    driver = (
        "postgresql-42.2.8.jar"
        if engine.dialect == "postgresql"
        else "mariadb-java-client-2.5.3.jar"
    )
    url = (
        f"jdbc:postgresql://127.0.0.1:5432/{engine.name}"
        if engine.dialect == "postgresql"
        else f"jdbc:mariadb://127.0.0.1:3306/{engine.name}"
    )
    user = "postgres" if engine.dialect == "postgresql" else "root"
    classpath = f"{jar}:{DIST / 'liquibase' / 'lib'}/*:{DIST / 'drivers' / driver}"
    return [java, f"-Duser.timezone={tz}", "-cp", classpath,
            "liquibase.integration.commandline.Main", f"--changeLogFile={changelog.name}",
            f"--url={url}", f"--username={user}", "--password=", "--logLevel=warning"]  # fmt: skip


def changelog(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "changelog.xml"
    path.write_text(CHANGELOG % {"extra": extra})
    return path


def ids(*numbers: int) -> list[str]:
    return [f"changelog.xml::{n}::ci" for n in numbers]


def killed_mid_run(engine: Engine, tmp_path: Path, tz: str) -> None:
    """Run ``update`` with a changeset that sleeps, and kill -9 the JVM while it holds the
    lock: what a deploy killed by its orchestrator leaves behind."""
    log = changelog(
        tmp_path, f'  <changeSet id="3" author="ci"><sql>{SLEEP[engine.dialect]}</sql></changeSet>'
    )
    proc = subprocess.Popen([*liquibase(engine, log, tz), "update"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            time.sleep(0.5)
            assert proc.poll() is None, "liquibase ended before its sleeping changeset"
            try:
                done = engine.query("SELECT COUNT(*) FROM DATABASECHANGELOG")[0][0]
            except Exception:
                continue
            if done == 2:  # changesets 1 and 2 ran; 3 is sleeping under the lock
                break
        else:
            pytest.fail("liquibase never reached the sleeping changeset")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert engine.query("SELECT LOCKED FROM DATABASECHANGELOGLOCK")[0][0] in (True, 1, b"\x01")


async def test_updated_database_is_up_to_date_and_a_new_changeset_pending(
    engine: Engine, tmp_path: Path
) -> None:
    run([*liquibase(engine, changelog(tmp_path)), "update"], cwd=tmp_path)
    result = await audit(engine, "auto", expected=ids(1, 2))
    assert result.status == RunStatus.PASS, result.summary
    assert codes(result) == []
    behind = await audit(engine, "liquibase", expected=ids(1, 2, 3))
    assert codes(behind) == ["migrations.pending"]
    assert "changelog.xml::3::ci" in behind.findings[0].message


async def test_a_lock_left_by_a_killed_run_is_aged_by_the_database_clock(
    engine: Engine, tmp_path: Path
) -> None:
    """The JVM and the database in the same zone, 8 h behind UTC on PostgreSQL: read as UTC
    the lock looked 8 h old and "stuck" at once; by the database's clock it is seconds old."""
    zone = "UTC"
    if engine.dialect == "postgresql":
        zone = "America/Los_Angeles"
        engine.query(f"ALTER DATABASE \"{engine.name}\" SET timezone = '{zone}'")
    killed_mid_run(engine, tmp_path, zone)
    young = await audit(engine, "liquibase", expected=ids(1, 2), lock_max_age="15m")
    assert codes(young) == ["migrations.locked"], young.summary
    time.sleep(2)
    stuck = await audit(engine, "liquibase", expected=ids(1, 2), lock_max_age="1s")
    assert codes(stuck) == ["migrations.lock_stuck"], stuck.summary


async def test_a_lock_dated_in_the_future_is_flagged_not_trusted(
    engine: Engine, tmp_path: Path
) -> None:
    """The JVM 14 h ahead of the database's zone: the lock's time is after the database's
    now, so its age is unknown; read as UTC it passed as "held" for the next 14 h."""
    killed_mid_run(engine, tmp_path, "Pacific/Kiritimati")
    result = await audit(engine, "liquibase", expected=ids(1, 2), lock_max_age="15m")
    assert result.status == RunStatus.WARN
    assert codes(result) == ["migrations.lock_in_future"], result.summary
