"""attestation: read through History.attestation; missing, fresh, expired, too old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.attestation import AttestationCheck
from checks.base import RunStatus, Target
from checks.registry import get_check
from tests.checks.data.history import FakeHistory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ITEM = "load testing completed"


def record(days_ago: float, expires_in_days: float | None = None) -> dict[str, Any]:
    return {
        "item": ITEM,
        "signed_by": "bob",
        "evidence_url": "https://ci/loadtest/42",
        "comment": "p99 ok",
        "signed_at": NOW - timedelta(days=days_ago),
        "expires_at": NOW + timedelta(days=expires_in_days)
        if expires_in_days is not None
        else None,
    }


async def audit(rec: dict[str, Any] | None, **options: Any) -> RunResult:
    check = AttestationCheck()
    opts = check.Options.model_validate({"item": ITEM, **options})
    history = FakeHistory(attestations={("svc-1", ITEM): rec} if rec else {})
    target = Target("svc", "https://svc.example", "load", "attestation", service_id="svc-1")
    return await run_check(
        check, target, opts, prober=HttpProber(), timeout=5, history=history, now=lambda: NOW
    )


def codes(result: RunResult) -> list[str]:
    return [f.code for f in result.findings]


async def test_missing() -> None:
    result = await audit(None)
    assert codes(result) == ["attestation.missing"] and result.status is RunStatus.FAIL


async def test_signed_and_fresh() -> None:
    result = await audit(record(3, 30), max_age="90d")
    assert result.status is RunStatus.PASS and "bob" in result.summary
    assert result.facts["signed_at"] == (NOW - timedelta(days=3)).isoformat()


@pytest.mark.parametrize(
    ("rec", "opts"),
    [(record(3, -1), {}), (record(100), {"max_age": "90d"}), (record(100, -5), {"max_age": "90d"})],
)
async def test_expired(rec: dict[str, Any], opts: dict[str, Any]) -> None:
    result = await audit(rec, **opts)
    assert codes(result) == ["attestation.expired"] and result.status is RunStatus.FAIL


def test_options_and_registry() -> None:
    with pytest.raises(pydantic.ValidationError):
        AttestationCheck.Options.model_validate({"item": " "})
    with pytest.raises(pydantic.ValidationError):
        AttestationCheck.Options.model_validate({"item": "x", "maxage": "1d"})
    for kind in ("migrations", "backups", "env", "attestation"):
        assert get_check(kind).kind == kind
