"""Every migration tool's ledger, created as the tool does, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import EmptyHistory, RunStatus, Target
from checks.migrations import MigrationsCheck
from tests.checks.data.dbs import LiveDb, make_db
from tests.checks.data.ledgers import EXPECTED, EXTRA, NOW, build, checksum

DIALECTS = ["sqlite", "postgresql", "mysql"]
TOOLS = list(EXPECTED)
HAS_FAILURE = {
    "flyway": "migrations.failed",
    "liquibase": "migrations.failed",
    "golang-migrate": "migrations.dirty",
    "prisma": "migrations.failed",
    "atlas": "migrations.partial",
    "sqitch": "migrations.failed",
}
HAS_LOCK = ["liquibase", "knex"]


@pytest.fixture(params=DIALECTS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveDb]:
    yield from make_db(request.param, tmp_path)


class FakeHistory(EmptyHistory):
    def __init__(self, previous: list[Mapping[str, Any]] | None = None) -> None:
        self.previous = previous or []

    def previous_facts(self, check_id: str, limit: int = 1) -> list[Mapping[str, Any]]:
        return self.previous[:limit]


async def audit(
    db: LiveDb, tool: str, history: FakeHistory | None = None, **options: Any
) -> RunResult:
    check = MigrationsCheck()
    opts = check.Options.model_validate({"tool": tool, "dsn_env": "APP_RO_DSN", **options})
    target = Target("svc", "https://svc.example", "migrations", "migrations", check_id="c1")
    return await run_check(
        check,
        target,
        opts,
        prober=HttpProber(),
        timeout=10,
        history=history,
        environ={"APP_RO_DSN": db.dsn},
    )


def codes(result: RunResult) -> set[str]:
    return {f.code for f in result.findings}


@pytest.mark.parametrize("tool", TOOLS)
async def test_clean_and_autodetect(db: LiveDb, tool: str) -> None:
    sql, _ = build(tool, db.dialect, "clean")
    db.run(sql)
    expect: dict[str, Any] = {"expected": EXPECTED[tool]}
    if tool == "alembic":
        expect = {"expected_head": EXPECTED[tool][-1]}
    result = await audit(db, tool, **expect)
    assert result.status is RunStatus.PASS, result.to_dict()
    assert result.facts["ledger"]["applied_count"] >= 1
    auto = await audit(db, "auto", **expect)
    assert auto.status is RunStatus.PASS, auto.to_dict()
    assert auto.facts["tool"] == tool
    assert db.dsn not in str(auto.to_dict())


@pytest.mark.parametrize("tool", TOOLS)
async def test_pending(db: LiveDb, tool: str) -> None:
    sql, _ = build(tool, db.dialect, "pending")
    db.run(sql)
    result = await audit(db, tool, expected=EXPECTED[tool])
    assert result.status is RunStatus.FAIL
    assert codes(result) == {"migrations.pending"}, result.to_dict()
    assert "2 pending" in result.findings[0].message
    assert EXPECTED[tool][-1] in result.findings[0].message


@pytest.mark.parametrize("tool", TOOLS)
async def test_ahead(db: LiveDb, tool: str) -> None:
    sql, _ = build(tool, db.dialect, "ahead")
    db.run(sql)
    result = await audit(db, tool, expected=EXPECTED[tool])
    assert codes(result) == {"migrations.ahead"}, result.to_dict()
    assert result.status is RunStatus.WARN
    assert EXTRA[tool] in result.findings[0].message


@pytest.mark.parametrize("tool", sorted(HAS_FAILURE))
async def test_failed_dirty_partial(db: LiveDb, tool: str) -> None:
    sql, _ = build(tool, db.dialect, "failed")
    db.run(sql)
    result = await audit(db, tool, expected=EXPECTED[tool])
    assert HAS_FAILURE[tool] in codes(result), result.to_dict()
    assert result.status is RunStatus.FAIL
    text = str(result.to_dict())
    assert "relation already exists" not in text and "boom" not in text  # error text stays out


@pytest.mark.parametrize("tool", HAS_LOCK)
async def test_lock_stuck(db: LiveDb, tool: str) -> None:
    sql, _ = build(tool, db.dialect, "lock")
    db.run(sql)
    first = await audit(db, tool, expected=EXPECTED[tool])
    if tool == "knex":  # no timestamp in the lock row: first sighting is only "locked"
        assert codes(first) == {"migrations.locked"}, first.to_dict()
        earlier = dict(first.facts)
        earlier["ledger"] = {
            **first.facts["ledger"],
            "locks": [
                {**lk, "since": (NOW - timedelta(hours=1)).isoformat()}
                for lk in first.facts["ledger"]["locks"]
            ],
        }
        first = await audit(db, tool, history=FakeHistory([earlier]), expected=EXPECTED[tool])
    assert codes(first) == {"migrations.lock_stuck"}, first.to_dict()
    assert first.status is RunStatus.FAIL


async def test_prisma_young_unfinished_is_running(db: LiveDb) -> None:
    sql, _ = build("prisma", db.dialect, "running")
    db.run(sql)
    result = await audit(db, "prisma", expected=EXPECTED["prisma"])
    assert codes(result) == {"migrations.in_progress"}, result.to_dict()


@pytest.mark.parametrize("tool", ["flyway", "liquibase", "prisma", "atlas", "sqitch"])
async def test_checksum_drift_with_manifest(db: LiveDb, tool: str, tmp_path: Path) -> None:
    sql, ids = build(tool, db.dialect, "clean")
    db.run(sql)
    prefix = {"liquibase": "9:", "atlas": "h", "sqitch": "s"}.get(tool, "")
    lines = [f"{i} {prefix}{checksum(i)}" for i in ids]
    good = tmp_path / "good.txt"
    good.write_text("# release 42\n" + "\n".join(lines) + "\n")
    assert (await audit(db, tool, manifest=str(good))).status is RunStatus.PASS
    lines[1] = f"{ids[1]} {prefix}123"
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines))
    result = await audit(db, tool, manifest=str(bad))
    assert codes(result) == {"migrations.checksum_drift"}, result.to_dict()


async def test_table_missing(db: LiveDb) -> None:
    db.run(["CREATE TABLE unrelated (x INT)"])
    for tool in ("auto", "flyway"):
        result = await audit(db, tool, expected=["1"])
        assert codes(result) == {"migrations.table_missing"}, result.to_dict()
        assert result.status is RunStatus.FAIL


async def test_alembic_expected_head_behind(db: LiveDb) -> None:
    sql, _ = build("alembic", db.dialect, "pending")
    db.run(sql)
    result = await audit(db, "alembic", expected_head=EXPECTED["alembic"][-1])
    assert codes(result) == {"migrations.pending"}
    assert EXPECTED["alembic"][-1] in result.summary


async def test_unreachable_never_shows_password(tmp_path: Path) -> None:
    check = MigrationsCheck()
    dsn = "postgresql://app:S3cretPassw0rd@127.0.0.1:1/app"
    opts = check.Options.model_validate({"tool": "flyway", "dsn_env": "X_DSN"})
    target = Target("svc", "https://svc.example", "migrations", "migrations")
    result = await run_check(
        check, target, opts, prober=HttpProber(), timeout=5, environ={"X_DSN": dsn}
    )
    assert result.status is RunStatus.ERROR
    assert codes(result) == {"migrations.unreachable"}
    assert "S3cretPassw0rd" not in str(result.to_dict())
    assert "$X_DSN" in result.summary


async def test_probe_never_waits_on_a_held_lock(db: LiveDb) -> None:
    """A deploy holding the ledger locked must cost the probe its timeout, not hang it."""
    import time

    sql, _ = build("flyway", db.dialect, "clean")
    db.run(sql)
    cur = db.conn.cursor()
    if db.dialect == "postgresql":
        cur.execute("BEGIN")
        cur.execute("LOCK TABLE flyway_schema_history IN ACCESS EXCLUSIVE MODE")
    elif db.dialect == "mysql":
        cur.execute("LOCK TABLES flyway_schema_history WRITE")
    else:
        cur.execute("BEGIN EXCLUSIVE")
    try:
        check = MigrationsCheck()
        opts = check.Options.model_validate({"tool": "flyway", "dsn_env": "D"})
        target = Target("svc", "https://svc.example", "migrations", "migrations")
        t0 = time.monotonic()
        result = await run_check(
            check, target, opts, prober=HttpProber(), timeout=2, environ={"D": db.dsn}
        )
        elapsed = time.monotonic() - t0
    finally:
        if db.dialect == "mysql":
            cur.execute("UNLOCK TABLES")
        else:
            cur.execute("ROLLBACK")
        cur.close()
    assert result.status is RunStatus.ERROR, result.to_dict()
    assert codes(result) == {"migrations.unreachable"}, result.to_dict()
    assert elapsed < 4.0
