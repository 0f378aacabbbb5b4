"""Real nginx, configured the way people ship it."""

from __future__ import annotations

import pytest

from tests.realapps.audit import codes, exposure, finding
from tests.realapps.servers import NGINX_STOCK_ROOT, start_nginx

pytestmark = pytest.mark.slow

HARDENED = "server_tokens off; root {root}; location / { try_files $uri $uri/ =404; }"
LIMIT_ZONE = "limit_req_zone $binary_remote_addr zone=perip:1m rate=1r/s;"


async def test_hardened_site_has_no_findings() -> None:
    with start_nginx(HARDENED) as url:
        result = await exposure(url)
    assert codes(result) == [], result.summary
    assert str(result.status) == "pass"


async def test_stock_debian_site_shows_welcome_page_and_version() -> None:
    with start_nginx(f"root {NGINX_STOCK_ROOT}; index index.nginx-debian.html;") as url:
        result = await exposure(url)
    assert codes(result) == ["exposure.default_page", "exposure.server_version"]
    assert "nginx welcome page" in finding(result, "exposure.default_page")
    assert "fix:" in finding(result, "exposure.default_page")


async def test_limit_req_rejecting_with_503_is_rate_limiting() -> None:
    """nginx's default limit_req_status is 503: a shift to 503 under a burst is a limit,
    not an outage and not a missing limit."""
    site = HARDENED.replace("try_files", "limit_req zone=perip; try_files")
    with start_nginx(site, http_block=LIMIT_ZONE) as url:
        result = await exposure(url, rate_limit_burst=20)
    burst = result.facts["rate_limit"]
    assert codes(result) == [], result.summary
    assert burst["signals"] == ["status_503"]
    assert {burst["first_status"], *burst["earlier_statuses"]} - {503}  # it answered before
    assert burst["statuses"]["503"] >= 1
    assert "rate limited (a shift to status 503)" in result.summary


async def test_limit_req_status_429() -> None:
    site = HARDENED.replace("try_files", "limit_req zone=perip; limit_req_status 429; try_files")
    with start_nginx(site, http_block=LIMIT_ZONE) as url:
        result = await exposure(url, rate_limit_burst=20)
    assert codes(result) == [], result.summary
    assert result.facts["rate_limit"]["signals"] == ["status_429"]


async def test_limit_conn_rejecting_with_503_is_rate_limiting() -> None:
    """limit_conn (one download per client, throttled by limit_rate) also answers 503."""
    site = (
        "server_tokens off; root {root}; "
        "location /export.csv { limit_conn perconn 1; limit_rate 40k; }"
    )
    zone = "limit_conn_zone $binary_remote_addr zone=perconn:1m;"
    files = {"export.csv": b"id,total\n" * 4000}  # 36 kB: about a second per download
    with start_nginx(site, http_block=zone, files=files) as url:
        result = await exposure(url, rate_limit_burst=11, rate_limit_path="/export.csv")
    burst = result.facts["rate_limit"]
    assert codes(result) == [], result.summary
    assert burst["signals"] == ["status_503"]
    assert burst["statuses"]["200"] >= 1 and burst["statuses"]["503"] >= 1


async def test_no_limit_is_reported() -> None:
    with start_nginx(HARDENED) as url:
        result = await exposure(url, rate_limit_burst=15)
    assert codes(result) == ["exposure.no_rate_limit"]
    assert result.facts["rate_limit"]["statuses"] == {"200": 15}
    assert "(status 200 ×15)" in finding(result, "exposure.no_rate_limit")


async def test_a_site_down_with_503_is_not_called_rate_limited() -> None:
    with start_nginx("server_tokens off; location / { return 503; }") as url:
        result = await exposure(url, rate_limit_burst=5)
    burst = result.facts["rate_limit"]
    assert burst["signals"] == [] and burst["inconclusive"]
    assert "exposure.no_rate_limit" not in codes(result)
    assert "rate limit not judged" in result.summary
