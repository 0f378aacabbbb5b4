"""sqitch: a change is identified by its change id. ``sqitch rework`` keeps a change's name
and gives it a new id, so a plan whose reworked change is not deployed is pending even though
a change of that name is deployed."""

from __future__ import annotations

from pathlib import Path

from checks.base import RunStatus
from tests.realtools.conftest import Engine, audit, codes, manifest, need, run


class Project:
    def __init__(self, root: Path, engine: Engine) -> None:
        self.sqitch = need("sqitch")
        self.root = root
        root.mkdir()
        self.engine = engine
        kind = {"sqlite": "sqlite", "postgresql": "pg", "mysql": "mysql"}[engine.dialect]
        if engine.dialect == "sqlite":
            self.target = f"db:sqlite:{engine.path}"
        elif engine.dialect == "postgresql":
            self.target = f"db:pg://postgres@127.0.0.1:5432/{engine.name}"
        else:
            self.target = f"db:mysql://root@127.0.0.1:3306/{engine.name}"
        self.env = {"SQITCH_USER_CONFIG": str(root / "user.conf"), "SQITCH_FULLNAME": "CI",
                    "SQITCH_EMAIL": "ci@example.test"}  # fmt: skip
        self.cmd("init", "shop", "--engine", kind, "--top-dir", ".")

    def cmd(self, *args: str) -> str:
        return run([self.sqitch, *args], cwd=self.root, env=self.env)

    def add(self, name: str, sql: str) -> None:
        self.cmd("add", name, "-n", name)
        (self.root / "deploy" / f"{name}.sql").write_text(sql)

    def deploy(self) -> None:
        registry = (
            ["--registry", f"{self.engine.name}_sqitch"] if self.engine.dialect == "mysql" else []
        )
        self.cmd("deploy", *registry, self.target)

    def plan(self) -> str:
        """What a CI job publishes: every change id in plan order."""
        return self.cmd("plan", "--no-headers", "--format", "oneline")

    def registry(self) -> Engine:
        """Where sqitch keeps its registry: a file beside SQLite, a database on MySQL, the
        ``sqitch`` schema of the same PostgreSQL database."""
        if self.engine.dialect == "sqlite":
            assert self.engine.path is not None
            return Engine("sqlite", "sqitch", path=self.engine.path.parent / "sqitch.db")
        if self.engine.dialect == "mysql":
            return Engine("mysql", f"{self.engine.name}_sqitch")
        return self.engine


def reworked(tmp_path: Path, engine: Engine) -> Project:
    """users + widgets deployed, tagged v1.0, then users reworked (not deployed yet)."""
    project = Project(tmp_path / "shop", engine)
    project.add("users", "CREATE TABLE users (id INTEGER PRIMARY KEY);\n")
    project.add("widgets", "CREATE TABLE widgets (id INTEGER PRIMARY KEY);\n")
    project.deploy()
    project.cmd("tag", "v1.0", "-n", "first release")
    project.cmd("rework", "users", "-n", "users get a name")
    (project.root / "deploy" / "users.sql").write_text(
        "ALTER TABLE users ADD COLUMN name VARCHAR(50);\n"
    )
    (project.root / "revert" / "users.sql").write_text("SELECT 1;\n")
    return project


async def test_a_reworked_change_not_deployed_is_pending(engine: Engine, tmp_path: Path) -> None:
    project = reworked(tmp_path, engine)
    registry = project.registry()
    by_id = await audit(registry, "sqitch", manifest=manifest(tmp_path, project.plan()))
    assert by_id.status == RunStatus.FAIL, by_id.summary
    assert codes(by_id) == ["migrations.pending"]
    assert "users (" in by_id.findings[0].message
    by_name = await audit(registry, "sqitch", expected=["users", "widgets", "users@HEAD"])
    assert codes(by_name) == ["migrations.pending"], by_name.summary
    try:
        if engine.dialect == "mysql":
            project.cmd("deploy", "--registry", f"{engine.name}_sqitch", project.target)
        else:
            project.deploy()
        done = await audit(registry, "auto", manifest=manifest(tmp_path, project.plan()))
        assert done.status == RunStatus.PASS, done.summary
        assert codes(done) == []
        assert (await audit(registry, "sqitch", expected=["users", "widgets", "users"])).status \
            == RunStatus.PASS  # fmt: skip
    finally:
        if engine.dialect == "mysql":
            engine.query(f"DROP DATABASE IF EXISTS `{engine.name}_sqitch`")
