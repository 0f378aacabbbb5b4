"""Wire tests: the health check through ``run_check`` against a live threaded server on 127.0.0.1.

Hostile servers included: one that never answers, one that drips a byte a second, a 1 GB
body streamed lazily, a gzip bomb, a redirect loop; plus a refused port and the address policy.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from auditor.probe.addresses import AddressPolicy
from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.health import HealthCheck

pytestmark = pytest.mark.usefixtures("probe_engine")

GB = 1_000_000_000
CHUNK = b"x" * 65536
OK_BODY = {
    "status": "ok",
    "version": "1.2.3",
    "uptime": 42.5,
    "items": [1, 2, 3],
    "data": [{"name": "john", "id": 7}, {"name": "jane", "id": 8}],
    "checks": {"db": {"status": "up"}},
}
_STOP = threading.Event()
_BOMB = gzip.compress(b"\0" * 50_000_000, compresslevel=9)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, body: bytes, ctype: str = "application/json", **extra: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _stream(self, total: int | None, content_length: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if content_length:
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            while (total is None or sent < total) and not _STOP.is_set():
                self.wfile.write(CHUNK)  # lazily: never more than one chunk in memory
                sent += len(CHUNK)
        except OSError:
            pass
        self.close_connection = True

    def _drip(self, data: bytes) -> None:
        try:
            for i in range(len(data)):
                if _STOP.wait(1.0 if i else 0):
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        received = self.rfile.read(length).decode()
        self._send(200, json.dumps({"method": self.command, "received": received}).encode())

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = url.path.strip("/").split("/")
        route = parts[0]
        if route == "ok":
            self._send(200, json.dumps(OK_BODY).encode(), X_Version="7", Set_Cookie="sid=secret")
        elif route == "status":
            self._send(int(parts[1]), b'{"status": "nope"}')
        elif route == "slow":
            time.sleep(int(query["ms"][0]) / 1000)
            self._send(200, b"{}")
        elif route == "health-json":
            self._send(200, json.dumps({"status": parts[1]}).encode(), "application/health+json")
        elif route == "big-json":
            doc = {"filler": "x" * 200_000, "status": "ok", "n": 5, "other": [1] * 10}
            self._send(200, json.dumps(doc).encode())
        elif route == "text":
            self._send(200, b"pong", "text/plain")
        elif route == "hang":
            _STOP.wait(30)
            self.close_connection = True
        elif route == "drip":
            self._drip(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        elif route == "drip-body":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            self._drip(b"y" * 100)
        elif route == "huge":
            self._stream(GB, content_length=True)
        elif route == "huge-undeclared":
            self._stream(GB, content_length=False)
        elif route == "bomb":
            self._send(200, _BOMB, "application/json", Content_Encoding="gzip")
        elif route == "loop":
            self._send(302, b"", Location="/loop")
        elif route == "redirect":
            self._send(301, b"", Location="/ok")
        else:
            self._send(404, b"{}")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # hostile routes end in broken pipes once the prober hangs up


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    _STOP.clear()
    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    _STOP.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.aclose()


def target(url: str) -> Target:
    return Target(service="svc", url=url, check="health", kind="health")


async def probe(
    prober: HttpProber, url: str, timeout: float = 5.0, **options: Any
) -> tuple[RunResult, float]:
    t0 = time.monotonic()
    result = await run_check(
        HealthCheck(),
        target(url),
        HealthCheck.Options(**options),
        prober=prober,
        timeout=timeout,
    )
    return result, time.monotonic() - t0


def codes(result: RunResult) -> list[str]:
    return [f.code for f in result.findings]


async def test_it_passes_on_200(base_url: str, prober: HttpProber) -> None:
    result, _ = await probe(prober, base_url, path="/ok")
    assert result.status is RunStatus.PASS, result.summary
    assert result.findings == []
    assert result.summary.startswith("200 OK in ") and result.summary.endswith(" ms")
    facts = result.facts
    assert facts["status"] == 200
    assert facts["body_json"] == OK_BODY
    assert facts["peer"] == "127.0.0.1"
    assert facts["headers"]["x-version"] == "7"
    assert facts["headers"]["set-cookie"] == "<redacted>"
    assert facts["content_type"] == "application/json"
    assert facts["conditions"] == []
    json.dumps(result.to_dict())


async def test_it_fails_on_wrong_status(base_url: str, prober: HttpProber) -> None:
    result, _ = await probe(prober, base_url, path="/status/503")
    assert result.status is RunStatus.FAIL
    assert codes(result) == ["health.status"]
    assert result.summary == "HTTP 503 Service Unavailable, expected 200"


async def test_it_accepts_status_classes(base_url: str, prober: HttpProber) -> None:
    result, _ = await probe(prober, base_url, path="/status/204", expect_status="2xx")
    assert result.status is RunStatus.PASS, result.summary


async def test_it_warns_over_max_latency(base_url: str, prober: HttpProber) -> None:
    result, _ = await probe(prober, base_url, path="/slow?ms=300", max_latency="100ms")
    assert result.status is RunStatus.WARN
    assert codes(result) == ["health.latency"]
    assert result.facts["elapsed_ms"] >= 300


CONDITIONS = [
    "[STATUS] == 200",
    "[STATUS] != 500",
    "[STATUS] < 300",
    "[STATUS] <= 200",
    "[STATUS] > 199",
    "[STATUS] >= 200",
    "[RESPONSE_TIME] < 5000",
    "[BODY].status == ok",
    "[BODY].uptime > 9",
    "[BODY].data[0].name == john",
    "[BODY].data[1].id >= 8",
    "[BODY].checks.db.status == up",
    "[BODY].version == pat(1.*)",
    "[BODY].status == any(ok, up)",
    "len([BODY].items) == 3",
    "has([BODY].errors) == false",
    "[HEADER].Content-Type == application/json",
    "[HEADER].x-version == 7",
    "[IP] == 127.0.0.1",
]


async def test_it_evaluates_every_operator_on_a_real_body(
    base_url: str, prober: HttpProber
) -> None:
    result, _ = await probe(prober, base_url, path="/ok", conditions=CONDITIONS)
    assert result.status is RunStatus.PASS, result.summary
    assert [c["condition"] for c in result.facts["conditions"]] == CONDITIONS
    assert all(c["success"] for c in result.facts["conditions"])
    assert result.facts["conditions"][0]["display"] == "[STATUS] (200) == 200"


async def test_it_fails_each_false_condition_with_resolved_values(
    base_url: str, prober: HttpProber
) -> None:
    conditions = ["[STATUS] == 200", "[BODY].status == down", "len([BODY].items) < 2"]
    result, _ = await probe(prober, base_url, path="/ok", conditions=conditions)
    assert result.status is RunStatus.FAIL
    assert codes(result) == ["health.condition", "health.condition"]
    assert result.findings[0].message == "condition failed: [BODY].status (ok) == down"
    assert result.summary == "condition failed: [BODY].status (ok) == down (+1 more finding)"
    assert [c["success"] for c in result.facts["conditions"]] == [True, False, False]


async def test_it_reads_text_bodies_only_when_conditions_need_them(
    base_url: str, prober: HttpProber
) -> None:
    plain, _ = await probe(prober, base_url, path="/text")
    assert "body" not in plain.facts and plain.facts["body_bytes"] == 4
    needed, _ = await probe(prober, base_url, path="/text", conditions=["[BODY] == pong"])
    assert needed.status is RunStatus.PASS and needed.facts["body"] == "pong"


async def test_it_keeps_facts_small_for_large_json_bodies(
    base_url: str, prober: HttpProber
) -> None:
    result, _ = await probe(prober, base_url, path="/big-json", conditions=["[BODY].n == 5"])
    assert result.status is RunStatus.PASS, result.summary
    assert result.facts["body_bytes"] > 200_000
    assert len(result.facts["body"]) == 64 * 1024 and result.facts["body_truncated"]
    assert result.facts["body_json"] == {"status": "ok", "n": 5}


@pytest.mark.parametrize(
    ("reported", "status", "code"),
    [
        ("pass", RunStatus.PASS, None),
        ("UP", RunStatus.PASS, None),
        ("warn", RunStatus.WARN, "health.status"),
        ("fail", RunStatus.FAIL, "health.status"),
        ("down", RunStatus.FAIL, "health.status"),
        ("weird", RunStatus.WARN, "health.invalid_response"),
    ],
)
async def test_it_honours_health_json_status(
    base_url: str, prober: HttpProber, reported: str, status: RunStatus, code: str | None
) -> None:
    result, _ = await probe(prober, base_url, path=f"/health-json/{reported}")
    assert result.status is status, result.summary
    assert codes(result) == ([code] if code else [])


async def test_it_follows_redirects_and_records_the_chain(
    base_url: str, prober: HttpProber
) -> None:
    result, _ = await probe(prober, base_url, path="/redirect")
    assert result.status is RunStatus.PASS
    assert result.facts["final_url"] == f"{base_url}/ok"
    assert result.facts["redirects"] == [
        {"url": f"{base_url}/redirect", "status": 301, "location": "/ok"}
    ]


async def test_it_sends_method_and_body(base_url: str, prober: HttpProber) -> None:
    result, _ = await probe(
        prober,
        base_url,
        path="/echo",
        method="post",
        body="ping",
        conditions=["[BODY].method == POST", "[BODY].received == ping"],
    )
    assert result.status is RunStatus.PASS, result.summary


async def test_it_cuts_a_hanging_server_at_the_deadline(base_url: str, prober: HttpProber) -> None:
    result, took = await probe(prober, base_url, path="/hang", timeout=1.0)
    assert took < 2.0
    assert result.status is RunStatus.ERROR
    assert codes(result) == ["health.timeout"]


@pytest.mark.parametrize("path", ["/drip", "/drip-body"])
async def test_it_cuts_a_dripping_server_at_the_deadline(
    base_url: str, prober: HttpProber, path: str
) -> None:
    result, took = await probe(prober, base_url, path=path, timeout=1.5)
    assert took < 2.5
    assert result.status is RunStatus.ERROR
    assert codes(result) == ["health.timeout"]


@pytest.mark.parametrize("path", ["/huge", "/huge-undeclared"])
async def test_it_cuts_a_1gb_body_at_the_cap(base_url: str, prober: HttpProber, path: str) -> None:
    result, took = await probe(prober, base_url, path=path, timeout=10.0)
    assert took < 3.0
    assert result.status is RunStatus.FAIL
    assert codes(result) == ["health.body_too_large"]


async def test_it_cuts_a_gzip_bomb_at_the_cap(base_url: str, prober: HttpProber) -> None:
    assert len(_BOMB) < 100_000
    result, took = await probe(prober, base_url, path="/bomb", timeout=10.0, body_cap="1MB")
    assert took < 3.0
    assert result.status is RunStatus.FAIL
    assert codes(result) == ["health.body_too_large"]


async def test_a_gzip_bomb_does_not_inflate_far_past_the_cap(base_url: str) -> None:
    fresh = HttpProber()
    tracemalloc.start()
    try:
        result, _ = await probe(fresh, base_url, path="/bomb", timeout=10.0, body_cap="1MB")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await fresh.aclose()
    assert codes(result) == ["health.body_too_large"]
    assert peak < 16_000_000, f"peak {peak / 1e6:.0f} MB for a 1 MB cap"


async def test_it_stops_a_redirect_loop(base_url: str, prober: HttpProber) -> None:
    result, _ = await probe(prober, base_url, path="/loop", max_redirects=3)
    assert result.status is RunStatus.FAIL
    assert codes(result) == ["health.too_many_redirects"]


async def test_it_reports_a_refused_port(prober: HttpProber) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, took = await probe(prober, f"http://127.0.0.1:{port}", timeout=3.0)
    assert took < 3.0
    assert result.status is RunStatus.ERROR
    assert codes(result) == ["health.unreachable"]
    assert result.error


async def test_it_honours_the_address_policy(base_url: str) -> None:
    strict = HttpProber(AddressPolicy(allow_private_networks=False))
    try:
        result, _ = await probe(strict, base_url, path="/ok")
    finally:
        await strict.aclose()
    assert result.status is RunStatus.ERROR
    assert codes(result) == ["health.blocked_by_policy"]
    assert "127.0.0.1" in result.summary
