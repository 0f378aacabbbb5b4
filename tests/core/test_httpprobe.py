"""The probe client never hands credentials to another origin on a redirect."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from auditor.probe.http import HttpProber
from tests.support import local_server

pytestmark = pytest.mark.usefixtures("probe_engine")


def _echo_into(seen: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    def handler(req: BaseHTTPRequestHandler) -> None:
        seen.append({k.lower(): v for k, v in req.headers.items()})
        req.send_response(200)
        req.send_header("Content-Length", "2")
        req.end_headers()
        req.wfile.write(b"ok")

    return handler


def _redirect(location: str):  # type: ignore[no-untyped-def]
    def handler(req: BaseHTTPRequestHandler) -> None:
        req.send_response(302)
        req.send_header("Location", location)
        req.send_header("Content-Length", "0")
        req.end_headers()

    return handler


async def test_credentials_are_dropped_when_a_redirect_changes_origin() -> None:
    seen: list[dict[str, str]] = []
    secret = {
        "Authorization": "Bearer SECRET",
        "X-Api-Key": "k",
        "Cookie": "s=1",
        "X-Trace": "drop",
        "Accept": "application/json",
    }
    with local_server({"/landing": _echo_into(seen)}) as other:
        with local_server(
            {
                "/start": _redirect(other + "/landing"),
                "/same": _redirect("/echo"),
                "/echo": _echo_into(seen),
            }
        ) as origin:
            prober = HttpProber()
            try:
                await prober.fetch(origin + "/start", headers=secret)
                await prober.fetch(origin + "/same", headers=secret)
            finally:
                await prober.aclose()
    cross, same = seen
    assert "authorization" not in cross and "x-api-key" not in cross and "cookie" not in cross
    # any custom header may be a credential (issue #17): only Accept-like headers follow
    assert "x-trace" not in cross and cross["accept"] == "application/json"
    assert same["authorization"] == "Bearer SECRET"  # same origin keeps them


async def test_pools_are_per_origin_and_bounded(monkeypatch, probe_engine) -> None:  # type: ignore[no-untyped-def]
    if probe_engine == "curl":
        pytest.skip("httpx's connection pools: the libcurl engine opens a fresh connection per hop")
    import auditor.probe.http as hp

    monkeypatch.setattr(hp, "MAX_POOLS", 2)
    seen: list[dict[str, str]] = []
    with local_server({"/": _echo_into(seen)}) as a, local_server({"/": _echo_into(seen)}) as b:
        with local_server({"/": _echo_into(seen)}) as c:
            prober = HttpProber()
            try:
                for url in (a, b, c, a):
                    assert (await prober.fetch(url + "/")).status == 200
                assert len(prober._clients) <= 2
            finally:
                await prober.aclose()
    assert len(seen) == 4


async def test_cookies_follow_one_probes_redirects_but_never_the_next_probe() -> None:
    """A pooled client must not replay one check's session cookie into another check."""
    seen: list[dict[str, str]] = []

    def login(req: BaseHTTPRequestHandler) -> None:
        req.send_response(302)
        req.send_header("Set-Cookie", "sid=abc; Path=/")
        req.send_header("Location", "/home")
        req.send_header("Content-Length", "0")
        req.end_headers()

    with local_server({"/login": login, "/home": _echo_into(seen)}) as origin:
        prober = HttpProber()
        try:
            first = await prober.fetch(origin + "/login")
            await prober.fetch(origin + "/home")
        finally:
            await prober.aclose()
    assert first.status == 200 and len(first.chain) == 2
    assert seen[0].get("cookie") == "sid=abc"  # the redirect hop of the same probe
    assert "cookie" not in seen[1]  # a later probe starts without it
