"""A bad ``ca_file`` (config tier) is the operator's mistake, reported as such — never a crash.

Before, ``ssl.create_default_context(cafile=…)`` raised out of the probe and the check ended
as ``<kind>.internal`` ("the health check crashed"), the same finding as a bug in the auditor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import run_check
from checks.base import RunStatus, Target
from checks.headers import HeadersCheck
from checks.health import HealthCheck

pytestmark = pytest.mark.usefixtures("probe_engine")


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.aclose()


def _missing(tmp: Path) -> Path:
    return tmp / "nope.pem"


def _garbage(tmp: Path) -> Path:
    path = tmp / "garbage.pem"
    path.write_text("this is not a certificate\n")
    return path


def _directory(tmp: Path) -> Path:
    return tmp


def _private_key_only(tmp: Path) -> Path:
    path = tmp / "key.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    return path


@pytest.mark.parametrize("make", [_missing, _garbage, _directory, _private_key_only])
@pytest.mark.parametrize("check", [HealthCheck(), HeadersCheck()], ids=["health", "headers"])
async def test_an_unloadable_ca_file_is_a_config_error_not_a_crash(
    tmp_path: Path, prober: HttpProber, make: object, check: object
) -> None:
    ca_file = make(tmp_path)  # type: ignore[operator]
    kind = check.kind  # type: ignore[attr-defined]
    result = await run_check(
        check,  # type: ignore[arg-type]
        Target(service="svc", url="https://127.0.0.1:9", check=kind, kind=kind),
        check.Options(ca_file=str(ca_file)),  # type: ignore[attr-defined]
        prober=prober,
        timeout=5.0,
    )
    assert result.status is RunStatus.ERROR
    assert result.error_kind == "config", (result.error_kind, result.summary)
    assert [f.code for f in result.findings] == [f"{kind}.config"]
    assert "ca_file" in result.summary and "crashed" not in result.summary
