"""The backups check on real ``pgbackrest info --output=json`` (Debian ``pgbackrest``).

pgBackRest needs a stanza whose cluster archives WAL through it (``archive_command``).
Turning ``archive_mode`` on needs a restart of the cluster, which the shared PostgreSQL on
127.0.0.1:5432 must not get, so this module starts a private cluster with ``initdb`` under
/tmp on its own Unix socket (no TCP port), as the ``postgres`` user, and stops and removes it
afterwards. Cases: empty stanza, fresh full backup, stale (the clock moved on), missing
stanza, unreadable configuration.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.backups import BackupsCheck
from checks.base import Target

pytestmark = pytest.mark.slow

PGBACKREST = shutil.which("pgbackrest")
PG_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def _unavailable() -> str | None:
    if PGBACKREST is None:
        return "pgbackrest is not installed (Debian package pgbackrest)"
    if not PG_BINS:
        return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "a private PostgreSQL cluster is started as the postgres user: needs root"
    return None


@dataclass
class Stanza:
    directory: Path
    config: Path
    name: str = "demo"

    def pgbackrest(self, *args: str, as_postgres: bool = True) -> str:
        assert PGBACKREST
        cmd = [PGBACKREST, f"--config={self.config}", f"--stanza={self.name}", *args]
        if as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout

    def info_command(self, stanza: str | None = None, config: Path | None = None) -> list[str]:
        assert PGBACKREST
        return [PGBACKREST, f"--config={config or self.config}",
                f"--stanza={stanza or self.name}", "info", "--output=json"]  # fmt: skip


def _pg(*args: str) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Stanza]:
    reason = _unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}")
        pytest.skip(reason)
    bin_dir = Path(PG_BINS[-1]).parent
    d = Path(tempfile.mkdtemp(prefix="auditor-pgbr-", dir="/tmp"))
    shutil.chown(d, "postgres", "postgres")
    data = d / "data"
    config = d / "pgbackrest.conf"
    config.write_text(
        f"[global]\nrepo1-path={d}/repo\nlog-path={d}/log\nlock-path={d}/lock\n"
        f"spool-path={d}/spool\nlog-level-console=warn\nlog-level-file=off\nstart-fast=y\n"
        "repo1-retention-full=2\n"
        f"[demo]\npg1-path={data}\npg1-socket-path={d}\npg1-port=5432\n"
    )
    shutil.chown(config, "postgres", "postgres")
    started = False
    try:
        _pg(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                "listen_addresses = ''\n"
                f"unix_socket_directories = '{d}'\n"
                "wal_level = replica\narchive_mode = on\n"
                f"archive_command = '{PGBACKREST} --config={config} --stanza=demo "
                "archive-push %p'\n"
            )
        _pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(d / "pg.log"), "-w",
            "start")  # fmt: skip
        started = True
        stanza = Stanza(d, config)
        stanza.pgbackrest("stanza-create")
        # the info of the stanza before any backup, kept for the "empty" case (tests may run
        # in any order; the module's backup happens once)
        (d / "empty.json").write_text(stanza.pgbackrest("info", "--output=json"))
        yield stanza
    finally:
        if started:
            _pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                "stop")  # fmt: skip
        shutil.rmtree(d, ignore_errors=True)


async def audit(now: datetime | None = None, **options: Any) -> RunResult:
    check = BackupsCheck()
    target = Target("svc", "https://svc.example", "backups", "backups", check_id="pgbr-chk")
    kw: dict[str, Any] = {"now": (lambda: now)} if now else {}
    return await run_check(
        check, target, check.Options.model_validate(options), prober=HttpProber(), timeout=60,
        **kw,
    )  # fmt: skip


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


@pytest.fixture(scope="module")
def backed_up(cluster: Stanza) -> Stanza:
    cluster.pgbackrest("backup", "--type=full")
    return cluster


async def test_a_stanza_without_backups_is_missing(cluster: Stanza) -> None:
    """Its info right after ``stanza-create``: ``status.code`` 2, "no valid backups"."""
    path = str(cluster.directory / "empty.json")
    result = await audit(mode="inventory", path=path, max_age="1d")
    assert (str(result.status), codes(result)) == ("fail", ["backups.missing"])
    assert "no valid backups" in result.summary


async def test_fresh_full_backup_passes_with_its_size(backed_up: Stanza) -> None:
    result = await audit(mode="inventory", command=backed_up.info_command(), max_age="1d")
    assert (str(result.status), codes(result)) == ("pass", []), result.summary
    newest = result.facts["newest"]
    assert newest["type"] == "full" and newest["label"].endswith("F")
    assert isinstance(newest["size"], int) and newest["size"] > 1_000_000
    assert result.summary.startswith(f"pgbackrest: newest backup {newest['label']} is ")
    assert "MB" in result.summary


async def test_the_same_backup_days_later_is_too_old(backed_up: Stanza) -> None:
    later = datetime.now(UTC) + timedelta(days=3)
    result = await audit(later, mode="inventory", command=backed_up.info_command(), max_age="1d")
    assert (str(result.status), codes(result)) == ("fail", ["backups.too_old"])


async def test_min_size_reads_the_real_size(backed_up: Stanza) -> None:
    result = await audit(
        mode="inventory", command=backed_up.info_command(), max_age="1d", min_size="1GB"
    )
    assert codes(result) == ["backups.too_small"]


async def test_a_missing_stanza_is_reported_by_its_status(backed_up: Stanza) -> None:
    result = await audit(
        mode="inventory", command=backed_up.info_command(stanza="nope"), max_age="1d"
    )
    assert (str(result.status), codes(result)) == ("fail", ["backups.missing"])
    assert "missing stanza path" in result.summary


async def test_an_unreadable_configuration_is_an_error_saying_why(backed_up: Stanza) -> None:
    result = await audit(
        mode="inventory",
        command=backed_up.info_command(config=backed_up.directory / "nope.conf"),
        max_age="1d",
    )
    assert (str(result.status), result.error_kind) == ("error", "unreadable")
    assert "unable to open missing file" in result.summary
