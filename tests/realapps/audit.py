"""Run the real ``exposure`` check against a real server, as the daemon does."""

from __future__ import annotations

from typing import Any

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import Target
from checks.exposure import ExposureCheck, ExposureOptions


async def exposure(
    url: str, *, public: bool = False, environment: str = "production", **opts: Any
) -> RunResult:
    prober = HttpProber()
    target = Target(
        service="svc",
        url=url,
        check="exposure",
        kind="exposure",
        public=public,
        environment=environment,
    )
    try:
        return await run_check(
            ExposureCheck(), target, ExposureOptions(**opts), prober=prober, timeout=15
        )
    finally:
        await prober.aclose()


def codes(result: RunResult) -> list[str]:
    assert result.error_kind is None, (result.error_kind, result.summary)
    return sorted(f.code for f in result.findings)


def finding(result: RunResult, code: str) -> str:
    return next(f.message for f in result.findings if f.code == code)
