"""Real Caddy (Debian package) with stock-style Caddyfiles."""

from __future__ import annotations

import pytest

from tests.realapps.audit import codes, exposure, finding
from tests.realapps.servers import python_app, start_caddy

pytestmark = pytest.mark.slow


async def test_welcome_page_is_a_stock_page() -> None:
    """Debian's caddy serves /usr/share/caddy (the "Caddy works!" page) until configured."""
    with start_caddy("\troot * /usr/share/caddy\n\tfile_server") as url:
        result = await exposure(url)
    assert codes(result) == ["exposure.default_page"]
    assert "Caddy welcome page" in finding(result, "exposure.default_page")


async def test_reverse_proxy_to_a_production_app_has_no_findings() -> None:
    gunicorn = ["gunicorn", "-b", "127.0.0.1:{port}", "-w", "1", "flask_app:app"]
    with python_app(gunicorn) as backend:
        site = f"\treverse_proxy {backend.removeprefix('http://')}"
        with start_caddy(site) as url:
            result = await exposure(url)
    assert codes(result) == [], result.summary
    # Caddy names itself without a version: not a finding
    assert result.facts["banners"] == [] and result.facts["framework_banners"] == []


async def test_headers_directive_with_ratelimit_policy() -> None:
    """A gateway in front announcing its policy with IETF headers counts as a limit."""
    site = '\theader RateLimit-Policy "default;q=100;w=60"\n\trespond "ok" 200'
    with start_caddy(site) as url:
        result = await exposure(url, rate_limit_burst=10)
    assert result.facts["rate_limit"]["signals"] == ["ratelimit_headers"]
    assert "exposure.no_rate_limit" not in codes(result)
