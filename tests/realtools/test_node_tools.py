"""Knex and Sequelize (sequelize-cli), run by Node.js against real databases: the expected ids
are the migration file names, as ``knex migrate:list`` / ``sequelize-cli db:migrate:status``
print them."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.base import RunStatus
from tests.realtools.conftest import NODE_BIN, Engine, audit, codes, need, run

KNEX_MIGRATION = """exports.up = (knex) => knex.schema.createTable(%(table)r, (t) => { t.increments('id'); });
exports.down = (knex) => knex.schema.dropTable(%(table)r);
"""
SEQUELIZE_MIGRATION = """module.exports = {
  up: (q, S) => q.createTable(%(table)r, { id: { type: S.INTEGER, primaryKey: true } }),
  down: (q) => q.dropTable(%(table)r),
};
"""


def knex_connection(engine: Engine, migrations: Path) -> str:
    where = f"migrations: {{ directory: {str(migrations)!r} }}"
    if engine.dialect == "sqlite":
        return (f"{{ client: 'better-sqlite3', connection: {{ filename: {str(engine.path)!r} }}, "
                f"useNullAsDefault: true, {where} }}")  # fmt: skip
    if engine.dialect == "postgresql":
        url = f"postgres://postgres@127.0.0.1:5432/{engine.name}"
        return f"{{ client: 'pg', connection: {url!r}, {where} }}"
    url = f"mysql://root@127.0.0.1:3306/{engine.name}"
    return f"{{ client: 'mysql2', connection: {url!r}, {where} }}"


def knex(root: Path, engine: Engine, *args: str) -> str:
    """The knex CLI looks for its library beside the knexfile: the knexfile lives (under a
    name of its own) in the tools' directory, the migrations in the test's."""
    cli = need("knex", NODE_BIN / "knex")
    tools = NODE_BIN.parent.parent
    knexfile = tools / f"knexfile-{engine.name}.js"
    knexfile.write_text(f"module.exports = {knex_connection(engine, root / 'migrations')};\n")
    try:
        return run([cli, "--knexfile", str(knexfile), *args], cwd=tools)
    finally:
        knexfile.unlink()


def files(root: Path, names: list[str], template: str) -> None:
    (root / "migrations").mkdir(exist_ok=True)
    for name in names:
        table = name.split("_", 1)[1].removesuffix(".js")
        (root / "migrations" / name).write_text(template % {"table": table})


async def test_knex_up_to_date_then_one_pending(engine: Engine, tmp_path: Path) -> None:
    names = ["20240101000000_users.js", "20240102000000_orders.js"]
    files(tmp_path, names, KNEX_MIGRATION)
    knex(tmp_path, engine, "migrate:latest")
    listed = knex(tmp_path, engine, "migrate:list")
    assert all(n in listed for n in names)
    result = await audit(engine, "auto", expected=names)
    assert result.status == RunStatus.PASS, result.summary
    assert codes(result) == []
    files(tmp_path, ["20240103000000_invoices.js"], KNEX_MIGRATION)
    behind = await audit(
        engine, "knex", expected=sorted(p.name for p in (tmp_path / "migrations").iterdir())
    )
    assert codes(behind) == ["migrations.pending"]
    assert "20240103000000_invoices.js" in behind.findings[0].message


@pytest.fixture(params=["postgresql", "mysql"])
def server_engine(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Sequelize's SQLite dialect needs the native ``sqlite3`` module: servers only here."""
    from tests.realtools.conftest import make_engine

    yield from make_engine(request.param, tmp_path)


async def test_sequelize_cli_up_to_date_then_one_pending(
    server_engine: Engine, tmp_path: Path
) -> None:
    engine = server_engine
    cli = need("sequelize-cli", NODE_BIN / "sequelize-cli")
    url = (
        f"postgres://postgres@127.0.0.1:5432/{engine.name}"
        if engine.dialect == "postgresql"
        else f"mysql://root@127.0.0.1:3306/{engine.name}"
    )
    names = ["20240101000000-create-users.js", "20240102000000-create-orders.js"]
    (tmp_path / "migrations").mkdir()
    for name in names:
        table = name.split("-create-", 1)[1].removesuffix(".js")
        (tmp_path / "migrations" / name).write_text(SEQUELIZE_MIGRATION % {"table": table})
    args = ["--url", url, "--migrations-path", str(tmp_path / "migrations")]
    run([cli, "db:migrate", *args], cwd=tmp_path)
    status = run([cli, "db:migrate:status", *args], cwd=tmp_path)
    assert all(f"up   {n}" in status or f"up {n}" in status for n in names), status
    result = await audit(engine, "auto", expected=names)
    assert result.status == RunStatus.PASS, result.summary
    assert codes(result) == []
    behind = await audit(
        engine, "sequelize", expected=[*names, "20240103000000-create-invoices.js"]
    )
    assert codes(behind) == ["migrations.pending"]


async def test_a_custom_ledger_table_is_detected_by_its_shape(
    engine: Engine, tmp_path: Path
) -> None:
    """knex with ``tableName: 'app_migrations'``: with ``table`` set and ``tool = "auto"``,
    every adapter used to look at that table and the first (Flyway) queried its own columns:
    "unreachable". Detection now goes by the table's columns."""
    files(tmp_path, ["20240101000000_users.js"], KNEX_MIGRATION)
    connection = knex_connection(engine, tmp_path / "migrations")
    custom = connection.replace("migrations: {", "migrations: { tableName: 'app_migrations',")
    tools = NODE_BIN.parent.parent
    knexfile = tools / f"knexfile-{engine.name}.js"
    knexfile.write_text(f"module.exports = {custom};\n")
    try:
        run([need("knex", NODE_BIN / "knex"), "--knexfile", str(knexfile), "migrate:latest"],
            cwd=tools)  # fmt: skip
    finally:
        knexfile.unlink()
    result = await audit(
        engine, "auto", table="app_migrations", expected=["20240101000000_users.js"]
    )
    assert result.status == RunStatus.PASS, result.summary
    assert result.facts["tool"] == "knex"
    wrong = await audit(engine, "flyway", table="app_migrations")
    assert wrong.status == RunStatus.ERROR
    assert codes(wrong) == ["migrations.config"]
    assert "not a flyway ledger" in wrong.findings[0].message


@pytest.fixture
def pg_engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    from tests.realtools.conftest import make_engine

    yield from make_engine("postgresql", tmp_path)


async def test_a_query_refused_on_a_live_connection_is_query_failed(
    pg_engine: Engine, tmp_path: Path
) -> None:
    """A role that may connect and see the ledger but not read it: the database is reachable, so the
    finding is ``migrations.query_failed`` naming the refusal, never "unreachable"."""
    files(tmp_path, ["20240101000000_users.js"], KNEX_MIGRATION)
    knex(tmp_path, pg_engine, "migrate:latest")
    role = f"{pg_engine.name}_ro"
    pg_engine.query(f"CREATE ROLE {role} LOGIN")
    try:
        # it sees the table (it holds a privilege on it) but may not read it
        pg_engine.query(f"GRANT INSERT ON knex_migrations TO {role}")
        dsn = pg_engine.dsn.replace("postgres@", f"{role}@")
        from auditor.probe.http import HttpProber
        from auditor.schedule.runner import run_check
        from checks.base import Target
        from checks.migrations import MigrationsCheck

        check = MigrationsCheck()
        opts = check.Options.model_validate({"tool": "knex", "dsn_env": "DSN"})
        target = Target("svc", "https://svc.example", "migrations", "migrations", check_id="c1")
        result = await run_check(check, target, opts, prober=HttpProber(), timeout=20,
                                 environ={"DSN": dsn})  # fmt: skip
        assert result.status == RunStatus.ERROR
        assert codes(result) == ["migrations.query_failed"], result.summary
        assert "permission denied" in result.findings[0].message
    finally:
        pg_engine.query(f"DROP OWNED BY {role}")
        pg_engine.query(f"DROP ROLE {role}")
