"""Real Express (npm) with its defaults, hardened, and behind express-rate-limit."""

from __future__ import annotations

import pytest

from tests.realapps.audit import codes, exposure, finding
from tests.realapps.servers import express_app

pytestmark = pytest.mark.slow


async def test_express_defaults() -> None:
    """``node app.js``: ``X-Powered-By: Express`` (no version: info) and, outside
    production, the default error handler's stack trace."""
    with express_app("dev") as url:
        result = await exposure(url)
    assert codes(result) == ["exposure.debug_page", "exposure.framework_banner"]
    banner = next(f for f in result.findings if f.code == "exposure.framework_banner")
    assert banner.severity == "info"
    assert "x-powered-by: Express" in banner.message
    assert "app.disable('x-powered-by')" in banner.message
    assert "Express default error handler" in finding(result, "exposure.debug_page")


async def test_express_in_production_has_no_findings() -> None:
    with express_app("prod") as url:
        result = await exposure(url)
    assert codes(result) == [], result.summary


async def test_express_rate_limit_headers_are_named() -> None:
    with express_app("ratelimit") as url:
        result = await exposure(url, rate_limit_burst=10)
    burst = result.facts["rate_limit"]
    assert codes(result) == [], result.summary
    assert burst["signals"] == ["ratelimit_headers", "x_ratelimit_headers"]
    assert {"ratelimit", "ratelimit-policy", "x-ratelimit-limit"} <= set(burst["headers"])
    assert "IETF RateLimit headers, X-RateLimit headers" in result.summary


async def test_express_rate_limit_429_after_the_budget() -> None:
    """Past the limit (30/min) express-rate-limit answers 429 with Retry-After."""
    with express_app("ratelimit") as url:
        for _ in range(2):  # 2 × (3 probes + 12 paths) = 30: the budget is spent
            await exposure(url)
        result = await exposure(url, rate_limit_burst=5, probe_paths=False)
    burst = result.facts["rate_limit"]
    assert "status_429" in burst["signals"] and burst["retry_after"] is True
    assert "with Retry-After" in result.summary
