"""The ``schema`` kind against real PostgreSQL, MariaDB and SQLite databases built by DDL:
a healthy schema has no findings, each broken table gives its rule's finding, and a database
that cannot be reached is a clear ``error`` — never a crash or a hang."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.schema import SchemaCheck
from tests.checks.data.dbs import LiveDb, make_db
from tests.checks.data.schemas import broken, healthy

DIALECTS = ["sqlite", "postgresql", "mysql"]
#: no index is old enough to be "unused" in these runs (that rule has its own test)
NO_UNUSED = {"unused_index_min_age": "3650d"}


@pytest.fixture(params=DIALECTS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveDb]:
    yield from make_db(request.param, tmp_path)


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[LiveDb]:
    yield from make_db("postgresql", tmp_path)


async def audit(dsn: str, timeout: float = 15, **options: Any) -> RunResult:
    check = SchemaCheck()
    opts = check.Options.model_validate({"dsn_env": "APP_RO_DSN", **options})
    target = Target("svc", "https://svc.example", "schema", "schema", check_id="c1")
    return await run_check(
        check, target, opts, prober=HttpProber(), timeout=timeout, environ={"APP_RO_DSN": dsn}
    )


def by_table(result: RunResult) -> dict[str, set[str]]:
    """Finding codes per table (the place before the first '.' or ':' of the message)."""
    out: dict[str, set[str]] = {}
    for f in result.findings:
        place = f.message.split(":", 1)[0].split(".", 1)[0]
        out.setdefault(place, set()).add(f.code)
    return out


def real_findings(result: RunResult) -> list[Any]:
    """Everything but the "pg_stat_statements is not enabled" notice."""
    return [
        f for f in result.findings if not f.message.startswith("server: slow queries not measured")
    ]


async def test_healthy_schema_has_no_findings(db: LiveDb) -> None:
    db.run(healthy(db.dialect))
    result = await audit(db.dsn)
    assert result.status is RunStatus.PASS, result.to_dict()
    assert real_findings(result) == [], result.to_dict()
    assert result.facts["tables_audited"] == 2
    assert (
        result.summary.startswith("2 table(s) in ") and "follow the schema rules" in result.summary
    )
    assert {t["name"] for t in result.facts["tables"]} == {"customers", "orders"}
    assert db.dsn not in str(result.to_dict())


async def test_each_broken_table_gives_its_rule(db: LiveDb) -> None:
    sql, expect = broken(db.dialect)
    db.run(healthy(db.dialect) + sql)
    result = await audit(db.dsn, **NO_UNUSED)
    got = by_table(result)
    got.pop("server", None)  # the slow-query notice on PostgreSQL without the extension
    assert got == expect, result.to_dict()
    assert result.status is RunStatus.FAIL  # no_primary_key and float_money fail by default
    messages = {f.code: f.message for f in result.findings}
    assert messages["schema.float_money"].startswith("fm_invoices.amount: money in a ")
    assert "fix: use numeric/decimal" in messages["schema.float_money"]
    assert "di_skus_code_again" in messages["schema.duplicate_index"]
    if "schema.serial_exhaustion" in messages:
        assert "se_hits.id: key counter at " in messages["schema.serial_exhaustion"]
        assert "of 2,147,483,647 (93% used" in messages["schema.serial_exhaustion"]


async def test_allow_list_off_and_severity_overrides(db: LiveDb) -> None:
    sql, _expect = broken(db.dialect)
    db.run(healthy(db.dialect) + sql)
    result = await audit(
        db.dsn,
        **NO_UNUSED,
        tables={"np_*": ["no_primary_key"], "mt_notes": ["*"], "fm_invoices.amount": ["*"]},
        rules={"schema.duplicate_index": "off", "soft_delete_unique": "fail", "key_type": "info"},
    )
    got = by_table(result)
    for waived in ("np_events", "mt_notes", "fm_invoices", "di_skus"):
        assert waived not in got, result.to_dict()
    soft = [f for f in result.findings if f.code == "schema.soft_delete_unique"]
    assert [f.severity for f in soft] == ["high"]
    assert result.status is RunStatus.FAIL
    assert all(f.severity == "info" for f in result.findings if f.code == "schema.key_type")
    assert result.facts["waived"] >= 3


async def test_unused_index_states_the_statistics_age(pg: LiveDb) -> None:
    pg.run(
        [
            *healthy("postgresql"),
            "CREATE TABLE pages (id uuid PRIMARY KEY, slug text, created_at timestamptz, "
            "updated_at timestamptz)",
            "CREATE INDEX pages_slug ON pages (slug)",
        ]
    )
    quiet = await audit(pg.dsn, **NO_UNUSED)
    assert "schema.unused_index" not in {f.code for f in quiet.findings}
    result = await audit(pg.dsn, unused_index_min_age=0, rules={"unused_index": "warn"})
    unused = [f for f in result.findings if f.code == "schema.unused_index"]
    assert len(unused) == 1, result.to_dict()  # not the FK's index, not the unique ones
    assert unused[0].message.startswith("pages: index pages_slug has not been scanned since ")
    assert "days old)" in unused[0].message
    assert result.status is RunStatus.WARN


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
async def test_connection_headroom(dialect: str, tmp_path: Path) -> None:
    for live in make_db(dialect, tmp_path):
        live.run(healthy(dialect))
        ok = await audit(live.dsn)
        assert "schema.connection_headroom" not in {f.code for f in ok.findings}
        conn = ok.facts["connections"]
        assert conn["max"] >= 10 and conn["active"] >= 1
        tight = await audit(live.dsn, connection_threshold=0.001)
        found = [f for f in tight.findings if f.code == "schema.connection_headroom"]
        assert len(found) == 1 and found[0].message.startswith("server: ")
        assert f"of max_connections {conn['max']} in use" in found[0].message
        assert tight.status is RunStatus.WARN


def _stat_statements_loaded(live: LiveDb) -> str | None:
    """None when pg_stat_statements can be read here, else the reason it cannot."""
    import psycopg

    try:
        live.conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    except psycopg.Error as exc:
        return f"pg_stat_statements cannot be created: {exc}".splitlines()[0]
    try:
        live.conn.execute("SELECT count(*) FROM pg_stat_statements")
    except psycopg.Error as exc:
        return f"pg_stat_statements is not loaded on this server: {exc}".splitlines()[0]
    return None


async def test_slow_queries_says_not_enabled_rather_than_guess(pg: LiveDb) -> None:
    pg.run(healthy("postgresql"))
    reason = _stat_statements_loaded(pg)
    result = await audit(pg.dsn)
    notes = [f for f in result.findings if f.code == "schema.slow_queries"]
    if reason is None:
        assert result.facts["slow"]["enabled"] is True
        pytest.skip("pg_stat_statements is loaded here: see test_slow_queries_reports_top")
    assert result.facts["slow"]["enabled"] is False
    assert len(notes) == 1 and notes[0].severity == "info", result.to_dict()
    assert "pg_stat_statements is not enabled" in notes[0].message
    assert "shared_preload_libraries" in notes[0].message
    assert result.status is RunStatus.PASS
    off = await audit(pg.dsn, rules={"slow_queries": "off"})
    assert not off.findings


async def test_slow_queries_reports_the_top_statements(pg: LiveDb) -> None:
    pg.run(healthy("postgresql"))
    reason = _stat_statements_loaded(pg)
    if reason is not None:
        pytest.skip(
            reason + " (needs shared_preload_libraries; the shared server is not restarted)"
        )
    for _ in range(3):
        pg.conn.execute("SELECT pg_sleep(0.2), count(*) FROM customers")
    result = await audit(pg.dsn, slow_query_ms=150)
    slow = [f for f in result.findings if f.code == "schema.slow_queries"]
    assert slow and "pg_sleep" in slow[0].message, result.to_dict()
    assert "calls" in slow[0].message and "max" in slow[0].message


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://app:S3cretPassw0rd@127.0.0.1:1/app",
        "mysql+pymysql://app:S3cretPassw0rd@127.0.0.1:1/app",
        "sqlite:////nonexistent/dir/app.db",
    ],
    ids=["postgresql", "mysql", "sqlite"],
)
async def test_unreachable_database_is_a_clear_error(dsn: str) -> None:
    result = await audit(dsn, timeout=5)
    assert result.status is RunStatus.ERROR
    assert [f.code for f in result.findings] == ["schema.unreachable"], result.to_dict()
    assert "$APP_RO_DSN" in result.summary
    assert "S3cretPassw0rd" not in str(result.to_dict())


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung database)."""
    srv = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    srv.close()


@pytest.mark.parametrize("scheme", ["postgresql", "mysql+pymysql"])
async def test_a_silent_server_costs_the_timeout_not_a_hang(
    scheme: str, silent_server: int
) -> None:
    started = time.monotonic()
    result = await audit(f"{scheme}://app:pw@127.0.0.1:{silent_server}/app", timeout=2)
    assert time.monotonic() - started < 6
    assert result.status is RunStatus.ERROR
    assert [f.code for f in result.findings] == ["schema.unreachable"], result.to_dict()


async def test_dsn_env_not_set_is_a_config_error() -> None:
    check = SchemaCheck()
    opts = check.Options.model_validate({"dsn_env": "NOPE_DSN"})
    target = Target("svc", "https://svc.example", "schema", "schema")
    result = await run_check(check, target, opts, prober=HttpProber(), timeout=5, environ={})
    assert result.status is RunStatus.ERROR
    assert "$NOPE_DSN (dsn_env) is not set" in result.summary


async def test_a_dsn_to_a_forbidden_address_is_blocked_before_connecting() -> None:
    result = await audit("postgresql://u:pw@169.254.169.254/db", timeout=5)
    assert result.status is RunStatus.ERROR
    assert result.error_kind == "blocked_by_policy"
    assert [f.code for f in result.findings] == ["schema.blocked_by_policy"]


async def test_several_postgres_schemas_name_the_schema_in_every_place(pg: LiveDb) -> None:
    own = pg.dsn.rsplit("%3D", 1)[1]
    other = own + "_b"
    pg.run(
        [
            *healthy("postgresql"),
            f'CREATE SCHEMA "{other}"',
            f'CREATE TABLE "{other}".orders (id uuid PRIMARY KEY, total real, created_at '
            "timestamptz, updated_at timestamptz)",
        ]
    )
    try:
        result = await audit(pg.dsn, schemas=[own, other])
        assert [
            f.message.split(":")[0] for f in result.findings if f.code != "schema.slow_queries"
        ] == [f"{other}.orders.total"], result.to_dict()
        waived = await audit(pg.dsn, schemas=[own, other], tables={f"{other}.*": ["*"]})
        assert [f.code for f in waived.findings if f.code != "schema.slow_queries"] == []
    finally:
        pg.run([f'DROP SCHEMA "{other}" CASCADE'])


async def test_a_mysql_dsn_without_a_database_is_a_config_error(tmp_path: Path) -> None:
    for live in make_db("mysql", tmp_path):
        result = await audit(live.dsn.rsplit("/", 1)[0] + "/")
        assert result.status is RunStatus.ERROR
        assert [f.code for f in result.findings] == ["schema.config"], result.to_dict()
        assert "names no database" in result.summary


async def test_schemas_that_do_not_exist_or_do_not_apply_are_config_errors(db: LiveDb) -> None:
    db.run(healthy(db.dialect))
    result = await audit(db.dsn, schemas=["no_such_schema"])
    assert result.status is RunStatus.ERROR
    assert [f.code for f in result.findings] == ["schema.config"], result.to_dict()
    if db.dialect == "postgresql":
        assert "schemas: no_such_schema not found" in result.summary
    else:
        assert f"schemas applies to PostgreSQL only; this DSN is {db.dialect}" in result.summary


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
async def test_different_expression_indexes_are_not_duplicates(
    dialect: str, tmp_path: Path
) -> None:
    for live in make_db(dialect, tmp_path):
        live.run(
            [
                *healthy(dialect),
                "CREATE INDEX customers_lower_email ON customers (lower(email))",
                "CREATE INDEX customers_upper_email ON customers (upper(email))",
            ]
        )
        result = await audit(live.dsn, **NO_UNUSED)
        assert "schema.duplicate_index" not in {f.code for f in result.findings}
        live.run(["CREATE INDEX customers_lower_email_again ON customers (lower(email))"])
        again = await audit(live.dsn, **NO_UNUSED)
        dupes = [f.message for f in again.findings if f.code == "schema.duplicate_index"]
        # PostgreSQL names each expression; SQLite's catalog does not, so it stays silent
        assert len(dupes) == (1 if dialect == "postgresql" else 0), again.to_dict()
