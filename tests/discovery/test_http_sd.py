"""Prometheus http_sd: an endpoint served by a local HTTP server, changing, failing, back."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from structlog.testing import capture_logs

from auditor.config import parse_config
from auditor.store.db import Database
from tests.discovery.conftest import Driver
from tests.support import json_route, local_server


def _raw(status: int, body: bytes) -> Any:
    def handler(req: BaseHTTPRequestHandler) -> None:
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    return handler


def test_http_sd_endpoint_is_followed_and_an_outage_archives_nothing(driver: Any) -> None:
    seen: list[dict[str, str]] = []
    groups = [
        {"targets": ["10.1.0.1:443"], "labels": {"service": "shop", "__scheme__": "https"}},
        {"targets": ["10.1.0.2:8080"], "labels": {"service": "cart", "team": "team-cart"}},
    ]
    routes: dict[str, Any] = {}

    def sd(req: BaseHTTPRequestHandler) -> None:
        seen.append(dict(req.headers))
        routes["/current"](req)

    routes["/sd"] = sd
    routes["/current"] = json_route(200, groups)
    with local_server(routes) as base:
        d = driver(
            {
                "type": "http_sd",
                "url": f"{base}/sd",
                "refresh": "30s",
                "labels": {"service": "name", "team": "owner"},
                "profile": "production",
                "environment": "staging",
            }
        )
        d.tick()
        found = d.services()
        assert set(found) == {"shop", "cart"}
        assert found["shop"].url == "https://10.1.0.1:443"
        assert found["cart"].owner == "team-cart" and found["cart"].environment == "staging"
        assert found["cart"].source == "http_sd" and found["cart"].source_ref == f"{base}/sd"
        assert seen[0]["X-Prometheus-Refresh-Interval-Seconds"] == "30"

        d.tick(advance=5)  # refresh not due: no request
        assert len(seen) == 1

        # the endpoint fails (500, then garbage): errors naming the URL, nothing archived
        routes["/current"] = _raw(500, b"{}")
        with capture_logs() as logs:
            d.tick()
        errors = [e["error"] for e in logs if e["log_level"] == "error"]
        assert errors == [f"{base}/sd: answered HTTP 500, expected 200"]
        routes["/current"] = _raw(200, b"[{not json")
        with capture_logs() as logs:
            d.tick()
        assert any(f"{base}/sd: not valid JSON" in e.get("error", "") for e in logs)
        assert set(d.services()) == {"shop", "cart"}

        # back, without cart: cart is archived
        routes["/current"] = json_route(200, groups[:1])
        counts = d.tick()
        assert counts and counts["services_archived"] == 1
        assert set(d.services()) == {"shop"}
        assert d.services(include_archived=True)["cart"].deleted_at is not None


def test_an_endpoint_that_is_down_at_start_keeps_what_it_listed(driver: Any) -> None:
    with local_server(
        {"/sd": json_route(200, [{"targets": ["a:1"], "labels": {"job": "a"}}])}
    ) as base:
        d = driver({"type": "http_sd", "url": f"{base}/sd", "refresh": "1s"})
        d.tick()
        assert set(d.services()) == {"a"}
    # a new daemon starts while the endpoint is gone (connection refused)
    fresh = driver({"type": "http_sd", "url": f"{base}/sd", "refresh": "1s"})
    with capture_logs() as logs:
        fresh.tick()
    assert any(f"{base}/sd: fetch failed" in e.get("error", "") for e in logs)
    assert set(fresh.services()) == {"a"}


def test_http_sd_goes_through_the_address_policy(store: Database) -> None:
    body = json.dumps([{"targets": ["x:1"], "labels": {"job": "x"}}]).encode()
    config = {"auditor": {"allow_private_networks": False}}
    with local_server({"/sd": _raw(200, body)}) as base:
        source = {"type": "http_sd", "url": f"{base}/sd"}
        d = Driver(parse_config({**config, "discovery": [source]}, environ={}), store)
        try:
            with capture_logs() as logs:
                d.tick()
        finally:
            d.close()
    errors = [e["error"] for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1 and errors[0].startswith(f"{base}/sd: fetch failed")
    assert "not allowed" in errors[0] or "blocked" in errors[0], errors[0]
    assert d.services() == {}
