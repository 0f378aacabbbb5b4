"""Running the ``api`` kind the way the daemon does: the real prober and runner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.api import ApiCheck, ApiOptions
from checks.base import Target


async def run_api(
    port: int, *, timeout: float = 20, environ: Mapping[str, str] | None = None, **opts: Any
) -> RunResult:
    prober = HttpProber()
    target = Target(service="svc", url=f"http://127.0.0.1:{port}", check="api", kind="api")
    try:
        return await run_check(
            ApiCheck(), target, ApiOptions(**opts), prober=prober, timeout=timeout, environ=environ
        )
    finally:
        await prober.aclose()


def codes(result: RunResult) -> set[str]:
    return {f.code for f in result.findings}
