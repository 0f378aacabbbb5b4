"""Alembic: the database holds only its head(s); a head includes exactly its ancestors in the
revision graph that ``alembic history`` prints, not every revision listed before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.base import RunStatus
from tests.realtools.conftest import Engine, audit, codes, need, run


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``alembic init`` + a history that branches after a1 into b1 and c1 (made once)."""
    alembic = need("alembic")
    root = tmp_path_factory.mktemp("alembic")
    run([alembic, "init", "-t", "generic", str(root / "mig")], cwd=root)
    cmd = [alembic, "-c", str(root / "alembic.ini")]
    run([*cmd, "revision", "-m", "accounts", "--rev-id", "a1"], cwd=root)
    run([*cmd, "revision", "-m", "billing", "--rev-id", "b1", "--head", "a1"], cwd=root)
    run([*cmd, "revision", "-m", "search", "--rev-id", "c1", "--head", "a1", "--splice"],
        cwd=root)  # fmt: skip
    (root / "history.txt").write_text(run([*cmd, "history"], cwd=root))
    (root / "heads.txt").write_text(run([*cmd, "heads"], cwd=root))
    return root


def alembic(scripts: Path, engine: Engine, tmp_path: Path) -> list[str]:
    """The alembic command line for this engine's database (an ini of its own)."""
    ini = tmp_path / "alembic.ini"
    text = (scripts / "alembic.ini").read_text()
    text = text.replace("driver://user:pass@localhost/dbname", engine.dsn)
    ini.write_text(text)
    return [need("alembic"), "-c", str(ini)]


def heads(scripts: Path) -> list[str]:
    return [line.split()[0] for line in (scripts / "heads.txt").read_text().splitlines()]


async def test_at_both_heads_of_a_branched_history_is_up_to_date(
    engine: Engine, tmp_path: Path, scripts: Path
) -> None:
    run([*alembic(scripts, engine, tmp_path), "upgrade", "heads"], cwd=tmp_path)
    result = await audit(engine, "alembic", manifest=str(scripts / "history.txt"))
    assert result.status == RunStatus.PASS, result.summary
    assert codes(result) == []
    by_heads = await audit(engine, "auto", expected_head=heads(scripts))
    assert by_heads.status == RunStatus.PASS, by_heads.summary


@pytest.mark.parametrize(("upgrade_to", "missing"), [("b1", "c1"), ("c1", "b1")])
async def test_one_branch_applied_leaves_the_other_pending(
    engine: Engine, tmp_path: Path, scripts: Path, upgrade_to: str, missing: str
) -> None:
    """The linear reading said "up to date" at c1 (listed last) although b1 never ran."""
    run([*alembic(scripts, engine, tmp_path), "upgrade", upgrade_to], cwd=tmp_path)
    result = await audit(engine, "alembic", manifest=str(scripts / "history.txt"))
    assert result.status == RunStatus.FAIL
    assert codes(result) == ["migrations.pending"]
    assert result.findings[0].message.endswith(f": {missing}")
    by_heads = await audit(engine, "alembic", expected_head=heads(scripts))
    assert by_heads.status == RunStatus.FAIL


async def test_a_head_the_release_does_not_know_is_ahead_not_pending(
    engine: Engine, tmp_path: Path, scripts: Path
) -> None:
    """A database migrated by a newer release (a merge of both heads) against this release's
    history: "ahead", not a guessed list of pending revisions."""
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "mig").mkdir()
    for item in (scripts / "mig").rglob("*"):
        if item.is_file() and "__pycache__" not in item.parts:
            dest = newer / "mig" / item.relative_to(scripts / "mig")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(item.read_bytes())
    ini = (scripts / "alembic.ini").read_text().replace(str(scripts / "mig"), str(newer / "mig"))
    (newer / "alembic.ini").write_text(ini)
    cmd = alembic(newer, engine, tmp_path)
    run([*cmd, "merge", "-m", "merge", "--rev-id", "m1", "heads"], cwd=tmp_path)
    run([*cmd, "upgrade", "heads"], cwd=tmp_path)
    result = await audit(engine, "alembic", manifest=str(scripts / "history.txt"))
    assert codes(result) == ["migrations.ahead"], result.summary
    assert "m1" in result.findings[0].message
