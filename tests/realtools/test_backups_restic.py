"""The backups check on real restic repositories (Debian ``restic``): fresh, stale, empty,
wrong password, missing repository; and snapshot size, which only restic ≥ 0.17 reports
(``summary``): older versions must say "size unknown", never fail on it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.backups import BackupsCheck
from checks.base import Target

pytestmark = pytest.mark.slow

RESTIC = shutil.which("restic")


def require_restic() -> str:
    if RESTIC:
        return RESTIC
    if os.environ.get("CI") == "true":
        pytest.fail("restic is required in CI (Debian package restic)")
    pytest.skip("restic is not installed (Debian package restic)")


def restic_version() -> tuple[int, int]:
    out = subprocess.run([require_restic(), "version"], capture_output=True, text=True).stdout
    found = re.search(r"restic (\d+)\.(\d+)", out)
    assert found, out
    return int(found[1]), int(found[2])


class Repo:
    """A local restic repository with a password file, in ``directory``."""

    def __init__(self, directory: Path, init: bool = True) -> None:
        self.path = directory / "repo"
        self.password_file = directory / "password"
        self.password_file.write_text("correct horse\n")
        self.data = directory / "data"
        self.data.mkdir()
        (self.data / "db.dump").write_bytes(os.urandom(300_000))
        if init:
            self.restic("init")

    def restic(self, *args: str, password_file: Path | None = None) -> str:
        cmd = self.command(*args, password_file=password_file)
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout

    def command(self, *args: str, password_file: Path | None = None) -> list[str]:
        pw = password_file or self.password_file
        return [require_restic(), "-r", str(self.path), "--password-file", str(pw), *args]

    def backup(self, at: datetime | None = None, *extra: str) -> None:
        when = ["--time", at.strftime("%Y-%m-%d %H:%M:%S")] if at else []
        self.restic("backup", "--quiet", *when, *extra, str(self.data))

    def snapshots_command(self, **kw: Any) -> list[str]:
        return self.command("snapshots", "--json", "--no-lock", **kw)


async def audit(**options: Any) -> RunResult:
    check = BackupsCheck()
    target = Target("svc", "https://svc.example", "backups", "backups", check_id="restic-chk")
    return await run_check(
        check, target, check.Options.model_validate(options), prober=HttpProber(), timeout=60
    )


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    require_restic()
    return Repo(tmp_path)


async def test_fresh_snapshot_passes(repo: Repo) -> None:
    repo.backup()
    result = await audit(mode="inventory", command=repo.snapshots_command(), max_age="1d")
    assert (str(result.status), codes(result)) == ("pass", []), result.summary
    assert result.facts["inventory"]["tool"] == "restic"
    assert (
        result.facts["newest"]["label"]
        == json.loads(repo.restic("snapshots", "--json"))[0]["short_id"]
    )


async def test_stale_snapshot_is_too_old(repo: Repo) -> None:
    """``--time`` dates the only snapshot three days back."""
    repo.backup(datetime.now(UTC) - timedelta(days=3))
    result = await audit(mode="inventory", command=repo.snapshots_command(), max_age="1d")
    assert (str(result.status), codes(result)) == ("fail", ["backups.too_old"])
    assert "3.0d old" in result.summary


async def test_newest_snapshot_wins_over_an_old_one(repo: Repo) -> None:
    repo.backup(datetime.now(UTC) - timedelta(days=10))
    repo.backup()
    result = await audit(mode="inventory", command=repo.snapshots_command(), max_age="1d")
    assert (str(result.status), codes(result)) == ("pass", [])


async def test_empty_repository_is_missing(repo: Repo) -> None:
    result = await audit(mode="inventory", command=repo.snapshots_command(), max_age="1d")
    assert (str(result.status), codes(result)) == ("fail", ["backups.missing"])
    assert "restic" in result.summary


async def test_wrong_password_is_an_error_saying_why(repo: Repo, tmp_path: Path) -> None:
    repo.backup()
    wrong = tmp_path / "wrong"
    wrong.write_text("nope\n")
    result = await audit(
        mode="inventory", command=repo.snapshots_command(password_file=wrong), max_age="1d"
    )
    assert (str(result.status), result.error_kind) == ("error", "unreadable")
    assert "wrong password" in result.summary


async def test_missing_repository_is_an_error_saying_why(tmp_path: Path) -> None:
    require_restic()
    repo = Repo(tmp_path, init=False)
    result = await audit(mode="inventory", command=repo.snapshots_command(), max_age="1d")
    assert (str(result.status), result.error_kind) == ("error", "unreadable")
    assert "unable to open config file" in result.summary


async def test_size_unknown_before_restic_0_17(repo: Repo, tmp_path: Path) -> None:
    """restic < 0.17 records no snapshot size. Whatever version Debian ships, the check is
    given pre-0.17 JSON (the ``summary`` removed if present): no failure on min_size or
    shrink, and the result says the size is unknown."""
    repo.backup(datetime.now(UTC) - timedelta(hours=30))
    repo.backup()
    snapshots = json.loads(repo.restic("snapshots", "--json"))
    if restic_version() < (0, 17):
        assert all("summary" not in s for s in snapshots)
    for s in snapshots:
        s.pop("summary", None)
    path = tmp_path / "pre017.json"
    path.write_text(json.dumps(snapshots))
    result = await audit(mode="inventory", path=str(path), max_age="1d", min_size="1GB")
    assert (str(result.status), codes(result)) == ("pass", []), result.summary
    assert result.facts["newest"]["size"] is None
    assert "size unknown" in result.summary


async def test_size_reported_from_restic_0_17_summary(repo: Repo, tmp_path: Path) -> None:
    """restic ≥ 0.17 adds ``summary.total_bytes_processed``: the size is read and judged.
    On an older restic the field is added to the real output, shaped as 0.17 writes it."""
    repo.backup()
    snapshots = json.loads(repo.restic("snapshots", "--json"))
    if restic_version() < (0, 17):
        for s in snapshots:
            s["summary"] = {"total_files_processed": 1, "total_bytes_processed": 300_000}
    path = tmp_path / "v017.json"
    path.write_text(json.dumps(snapshots))
    small = await audit(mode="inventory", path=str(path), max_age="1d", min_size="1MB")
    assert codes(small) == ["backups.too_small"]
    ok = await audit(mode="inventory", path=str(path), max_age="1d", min_size="100KB")
    assert (str(ok.status), codes(ok)) == ("pass", [])
    assert "300.0KB" in ok.summary
