"""dbmate and ActiveRecord (Rails' migrator): a ``schema_migrations(version)`` ledger. The
expected list may be the migration file names (``ls db/migrate``, ``dbmate status``): the
versions are their numeric prefixes."""

from __future__ import annotations

from pathlib import Path

from checks.base import RunStatus
from tests.realtools.conftest import Engine, audit, codes, manifest, need, run

DBMATE = """-- migrate:up
CREATE TABLE %(table)s (id INTEGER PRIMARY KEY);
-- migrate:down
DROP TABLE %(table)s;
"""
RAILS = """class Create%(klass)s < ActiveRecord::Migration[6.1]
  def change
    create_table :%(table)s do |t|
      t.string :name
    end
  end
end
"""
MIGRATE_RB = """require "active_record"
ActiveRecord::Base.establish_connection(ENV.fetch("DATABASE_URL"))
ActiveRecord::Base.logger = nil
context = ActiveRecord::MigrationContext.new(ARGV[0], ActiveRecord::SchemaMigration)
context.migrate
puts context.migrations.map { |m| m.version }.join("\\n")
"""


def dbmate_url(engine: Engine) -> str:
    if engine.dialect == "sqlite":
        return f"sqlite:{engine.path}"
    if engine.dialect == "postgresql":
        return f"postgres://postgres@127.0.0.1:5432/{engine.name}?sslmode=disable"
    return f"mysql://root@127.0.0.1:3306/{engine.name}"


def rails_url(engine: Engine) -> str:
    if engine.dialect == "sqlite":
        return f"sqlite3:{engine.path}"
    if engine.dialect == "postgresql":
        return f"postgresql://postgres@127.0.0.1:5432/{engine.name}"
    return f"mysql2://root@127.0.0.1:3306/{engine.name}"


async def test_dbmate_status_as_the_manifest(engine: Engine, tmp_path: Path) -> None:
    dbmate = need("dbmate")
    migrations = tmp_path / "db" / "migrations"
    migrations.mkdir(parents=True)
    for version, table in (("20240101000000", "users"), ("20240102000000", "orders")):
        (migrations / f"{version}_create_{table}.sql").write_text(DBMATE % {"table": table})
    cmd = [dbmate, "--url", dbmate_url(engine), "--migrations-dir", str(migrations),
           "--no-dump-schema"]  # fmt: skip
    run([*cmd, "up"], cwd=tmp_path)
    status = run([*cmd, "status"], cwd=tmp_path)
    result = await audit(engine, "auto", manifest=manifest(tmp_path, status))
    assert result.status == RunStatus.PASS, result.summary
    assert result.facts["tool"] == "dbmate"
    assert codes(result) == []
    (migrations / "20240103000000_create_invoices.sql").write_text(DBMATE % {"table": "invoices"})
    behind = await audit(engine, "dbmate", manifest=manifest(tmp_path, run([*cmd, "status"])))
    assert codes(behind) == ["migrations.pending"]
    assert "20240103000000" in behind.findings[0].message


async def test_activerecord_migrations_by_file_name(engine: Engine, tmp_path: Path) -> None:
    ruby = need("ruby")
    migrate = tmp_path / "db" / "migrate"
    migrate.mkdir(parents=True)
    for version, table in (("20240101000000", "users"), ("20240102000000", "orders")):
        body = RAILS % {"klass": table.capitalize(), "table": table}
        (migrate / f"{version}_create_{table}.rb").write_text(body)
    (tmp_path / "migrate.rb").write_text(MIGRATE_RB)
    run([ruby, str(tmp_path / "migrate.rb"), str(migrate)], cwd=tmp_path,
        env={"DATABASE_URL": rails_url(engine)})  # fmt: skip
    files = sorted(p.name for p in migrate.iterdir())
    result = await audit(engine, "auto", expected=files)
    assert result.status == RunStatus.PASS, result.summary
    assert result.facts["tool"] == "rails"
    assert codes(result) == []
    behind = await audit(engine, "rails", expected=[*files, "20240103000000_create_invoices.rb"])
    assert codes(behind) == ["migrations.pending"]
