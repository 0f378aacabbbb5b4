"""backups: heartbeat history, real files with controlled mtimes/sizes, recorded
pgbackrest/restic JSON, and the restore-test receipt."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pydantic
import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.backups import BackupsCheck
from checks.backups.inventory import parse
from checks.base import RunStatus, Target
from tests.checks.data.history import FakeHistory

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CHECK_ID = "chk-backups"
SERVICE_ID = "svc-1"


async def audit(history: FakeHistory | None = None, **options: Any) -> RunResult:
    check = BackupsCheck()
    opts = check.Options.model_validate(options)
    target = Target(
        "svc", "https://svc.example", "backups", "backups", service_id=SERVICE_ID, check_id=CHECK_ID
    )
    return await run_check(
        check, target, opts, prober=HttpProber(), timeout=5, history=history, now=lambda: NOW
    )


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


def beat(kind: str, ago: timedelta, exit_code: int | None = None) -> dict[str, Any]:
    return {"kind": kind, "exit_code": exit_code, "at": NOW - ago}


H = timedelta(hours=1)


# --- heartbeat -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("beats", "expected"),
    [
        ([], ["backups.missing"]),
        ([beat("success", 2 * H), beat("start", 2.1 * H)], []),
        ([beat("success", 30 * H)], []),  # inside period 24h + grace 12h
        ([beat("success", 40 * H)], ["backups.late"]),
        ([beat("fail", 1 * H), beat("success", 25 * H)], ["backups.last_failed"]),
        ([beat("exit", 1 * H, 3), beat("start", 2 * H)], ["backups.last_failed"]),
        ([beat("exit", 1 * H, 0), beat("start", 2 * H)], []),
        ([beat("start", 13 * H), beat("success", 20 * H)], ["backups.late"]),  # hung run
        ([beat("start", 0.5 * H), beat("success", 20 * H)], []),  # running, within grace
        ([beat("start", 0.5 * H), beat("success", 40 * H)], ["backups.late"]),  # running, overdue
    ],
)
async def test_heartbeat(beats: list[dict[str, Any]], expected: list[str]) -> None:
    history = FakeHistory(heartbeats={CHECK_ID: beats})
    result = await audit(history, mode="heartbeat", period="1d", grace="12h")
    assert codes(result) == expected, result.to_dict()
    assert result.status is (RunStatus.PASS if not expected else result.status)


async def test_heartbeat_exit_code_in_message() -> None:
    history = FakeHistory(heartbeats={CHECK_ID: [beat("exit", H, 3)]})
    result = await audit(history, mode="heartbeat")
    assert result.status is RunStatus.FAIL and "exit code 3" in result.summary


# --- artifact --------------------------------------------------------------------------


def make(path: Path, size: int, age: timedelta) -> Path:
    path.write_bytes(b"\0" * size)
    ts = (NOW - age).timestamp()
    os.utime(path, (ts, ts))
    return path


async def test_artifact_fresh_and_sized(tmp_path: Path) -> None:
    make(tmp_path / "db-1.sql.gz", 1_000_000, 30 * H)
    make(tmp_path / "db-2.sql.gz", 1_100_000, 6 * H)
    make(tmp_path / "notes.txt", 5, 1 * H)
    result = await audit(
        mode="artifact", path=str(tmp_path), pattern="db-*.sql.gz", max_age="1d", min_size="1MB"
    )
    assert result.status is RunStatus.PASS, result.to_dict()
    assert result.facts["newest"]["name"] == "db-2.sql.gz"
    assert result.facts["previous_source"] == "previous_file"


async def test_artifact_missing_old_small(tmp_path: Path) -> None:
    missing = await audit(mode="artifact", path=str(tmp_path / "*.dump"))
    assert codes(missing) == ["backups.missing"]
    make(tmp_path / "a.dump", 400_000, 50 * H)
    old_small = await audit(
        mode="artifact", path=str(tmp_path / "*.dump"), max_age="1d", min_size="500KB"
    )
    assert codes(old_small) == ["backups.too_old", "backups.too_small"]
    assert old_small.status is RunStatus.FAIL


async def test_artifact_shrunk_against_store_history(tmp_path: Path) -> None:
    make(tmp_path / "only.tar", 300_000, H)
    history = FakeHistory(previous={CHECK_ID: [{"newest": {"name": "old.tar", "size": 1_000_000}}]})
    result = await audit(history, mode="artifact", path=str(tmp_path), max_shrink=0.5)
    assert codes(result) == ["backups.shrunk"]
    assert result.facts["previous_source"] == "history"
    ok = await audit(history, mode="artifact", path=str(tmp_path), max_shrink=0.25)
    assert codes(ok) == []


async def test_artifact_missing_directory_is_error(tmp_path: Path) -> None:
    result = await audit(mode="artifact", path=str(tmp_path / "nope"))
    assert result.status is RunStatus.ERROR


# --- inventory -------------------------------------------------------------------------


async def test_pgbackrest_ok_and_too_old() -> None:
    path = str(FIXTURES / "pgbackrest_ok.json")
    result = await audit(mode="inventory", path=path, max_age="2d", min_size="1GB")
    assert result.status is RunStatus.PASS, result.to_dict()
    assert result.facts["newest"]["label"].endswith("20261126-020003I")
    stale = await audit(mode="inventory", path=path, max_age="12h")
    assert codes(stale) == ["backups.too_old"]


async def test_pgbackrest_error_no_backups_and_shrunk() -> None:
    err = await audit(mode="inventory", path=str(FIXTURES / "pgbackrest_error.json"))
    assert codes(err) == ["backups.last_failed"]
    none = await audit(mode="inventory", path=str(FIXTURES / "pgbackrest_no_backups.json"))
    assert codes(none) == ["backups.missing"]
    shrunk = await audit(mode="inventory", path=str(FIXTURES / "pgbackrest_shrunk.json"))
    assert codes(shrunk) == ["backups.shrunk"]


async def test_restic_via_command_and_filters() -> None:
    cmd = [sys.executable, "-c", f"print(open({str(FIXTURES / 'restic_snapshots.json')!r}).read())"]
    result = await audit(mode="inventory", command=cmd, max_age="2d", min_size="5GB")
    assert result.status is RunStatus.PASS, result.to_dict()
    assert result.facts["inventory"]["tool"] == "restic"
    assert result.facts["newest"]["label"] == "e0b30000"
    other = await audit(mode="inventory", command=cmd, host="web9")
    assert codes(other) == ["backups.missing"]
    failing = await audit(mode="inventory", command=[sys.executable, "-c", "raise SystemExit(3)"])
    assert failing.status is RunStatus.ERROR and "status 3" in failing.summary


def test_restic_parser_nanoseconds() -> None:
    inv = parse((FIXTURES / "restic_snapshots.json").read_text())
    assert inv.backups[0].at == datetime(2026, 11, 26, 2, 0, 4, 987654, tzinfo=UTC)
    assert inv.backups[0].size == 5369000000 and inv.backups[-1].size is None


# --- restore receipt -------------------------------------------------------------------


def attestation(ago: timedelta, expires_in: timedelta | None = None) -> dict[str, Any]:
    return {
        "item": "restore",
        "signed_by": "alice",
        "evidence_url": "https://wiki/restore-drill",
        "comment": "",
        "signed_at": NOW - ago,
        "expires_at": NOW + expires_in if expires_in is not None else None,
    }


async def test_restore_receipt_rules(tmp_path: Path) -> None:
    make(tmp_path / "x.bak", 10, H)
    base = {"mode": "artifact", "path": str(tmp_path), "restore_max_age": "30d"}
    assert codes(await audit(**base)) == ["backups.restore_untested"]
    fresh = FakeHistory(attestations={(SERVICE_ID, "restore"): attestation(timedelta(days=3))})
    assert codes(await audit(fresh, **base)) == []
    old = FakeHistory(attestations={(SERVICE_ID, "restore"): attestation(timedelta(days=45))})
    assert codes(await audit(old, **base)) == ["backups.restore_too_old"]
    expired = FakeHistory(
        attestations={(SERVICE_ID, "restore"): attestation(timedelta(days=3), -timedelta(days=1))}
    )
    assert codes(await audit(expired, **base)) == ["backups.restore_too_old"]
    drill = FakeHistory(heartbeats={f"{CHECK_ID}:restore": [beat("success", timedelta(days=2))]})
    result = await audit(drill, **base)
    assert codes(result) == [] and result.facts["restore"]["source"] == "heartbeat"
    failed = FakeHistory(
        heartbeats={f"{CHECK_ID}:restore": [beat("fail", H), beat("success", timedelta(days=2))]}
    )
    assert codes(await audit(failed, **base)) == ["backups.restore_failed"]


def test_options_contract() -> None:
    opts = BackupsCheck.Options.model_validate(
        {"mode": "artifact", "path": "/b", "max_age": "2d", "min_size": "1MiB", "period": 3600}
    )
    assert opts.max_age == 172800 and opts.min_size == 1048576 and opts.period == 3600
    for bad in (
        {"mode": "artifact"},
        {"mode": "inventory"},
        {"mode": "heartbeat", "max_shrink": 2},
        {"mode": "heartbeat", "min_size": "1XB"},
        {"mode": "heartbeat", "bogus": 1},
    ):
        with pytest.raises(pydantic.ValidationError):
            BackupsCheck.Options.model_validate(bad)


async def test_inventory_command_failure_says_why_without_credentials() -> None:
    """A failing tool's stderr is its reason (restic: "Fatal: wrong password …"); a
    password in a repository URL is masked."""
    script = (
        "import sys; sys.stderr.write('Fatal: unable to open repository at "
        "rest:https://backup:s3cret@host/repo\\nIs there a repository?\\n'); sys.exit(1)"
    )
    result = await audit(mode="inventory", command=[sys.executable, "-c", script])
    assert result.status is RunStatus.ERROR
    assert "status 1: Fatal: unable to open repository at rest:https://***@host/repo" in (
        result.summary
    )
    assert "s3cret" not in result.summary


async def test_inventory_command_output_over_one_pipe_buffer_is_read_whole() -> None:
    """Hundreds of snapshots print more than a 64 KiB pipe chunk: all of it is parsed."""
    script = (
        "import json; print(json.dumps([{'time': '2026-11-27T%02d:00:00Z' % (i % 12), "
        "'tree': 'x' * 400, 'short_id': 's%04d' % i, 'hostname': 'h'} for i in range(400)]))"
    )
    result = await audit(mode="inventory", command=[sys.executable, "-c", script], max_age="2d")
    assert result.status is RunStatus.PASS, result.summary
    assert result.facts["inventory"]["count"] == 400
