"""The ``logging`` kind against recorded answers of the real Loki and Elasticsearch APIs.

Neither Grafana Loki nor Elasticsearch/OpenSearch installs here (Debian's ``loki`` package
is an unrelated genetics tool; there is no Debian Elasticsearch/OpenSearch), so a local
HTTP server on 127.0.0.1 answers with recordings in ``recorded/`` that keep the documented
response shapes: Loki ``{"status": "success", "data": {"resultType": "vector" | "streams",
"result": [...], "stats": {...}}}`` with ``values`` of ``["<ns>", "<line>"]``, its
plain-text 400 on a bad query; Elasticsearch ``_count`` ``{"count", "_shards"}``, ``_search``
``{"hits": {"total", "hits": [{"_source": …}]}}`` and its ``index_not_found_exception``.
The server also records what the check asked, so the requests are held to the APIs too.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.logs import LoggingCheck, LoggingOptions
from checks.tiers import api_tier_problems

RECORDED = Path(__file__).parent / "recorded"
NOW = datetime(2024, 12, 4, 8, 20, tzinfo=UTC)
LOKI_PARSE_ERROR = "parse error at line 1, col 2: syntax error: unexpected IDENTIFIER\n"


class Store:
    """path -> (status, content type, body); every request asked is kept."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.asked: list[dict[str, Any]] = []

    def serve(self, path: str, recording: str, status: int = 200) -> None:
        self.routes[path] = (status, "application/json", (RECORDED / recording).read_bytes())

    def text(self, path: str, body: str, status: int) -> None:
        self.routes[path] = (status, "text/plain; charset=utf-8", body.encode())


@pytest.fixture
def store() -> Iterator[tuple[Store, str]]:
    state = Store()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            state.asked.append(
                {"method": self.command, "path": parts.path, "query": parse_qs(parts.query),
                 "headers": {k.lower(): v for k, v in self.headers.items()}}
            )  # fmt: skip
            status, ctype, body = state.routes.get(
                parts.path, (404, "text/plain", b"404 page not found\n")
            )
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.aclose()


async def run(
    prober: HttpProber, service: str, environ: dict[str, str] | None = None, **options: Any
) -> RunResult:
    check = LoggingCheck()
    target = Target(service=service, url="http://127.0.0.1:1", check="logging", kind="logging")
    return await run_check(
        check, target, check.Options(**options), prober=prober, timeout=5.0,
        now=lambda: NOW, environ=environ,
    )  # fmt: skip


def codes(result: RunResult) -> list[str]:
    return sorted(f.code for f in result.findings)


def loki(state: Store, count: str, streams: str) -> None:
    state.serve("/loki/api/v1/query", count)
    state.serve("/loki/api/v1/query_range", streams)


async def test_loki_structured_recent_lines_pass(
    store: tuple[Store, str], prober: HttpProber
) -> None:
    state, url = store
    loki(state, "loki_count.json", "loki_streams_structured.json")
    result = await run(prober, "payments", backend="loki", url=url, tenant="prod", window="15m")
    assert result.status == RunStatus.PASS, result.findings
    assert result.findings == []
    assert result.facts["count"] == 240
    sample = result.facts["sample"]
    assert (sample["lines"], sample["json"]) == (8, 8)
    assert sample["stack_traces_at_info"] == 0  # the traceback is on an error line
    count, ranged = state.asked
    assert count["query"]["query"] == ['sum(count_over_time({service_name="payments"} [900s]))']
    assert ranged["path"] == "/loki/api/v1/query_range"
    assert ranged["query"]["direction"] == ["backward"]
    end = int(NOW.timestamp() * 1e9)
    assert ranged["query"]["end"] == [str(end)]
    assert ranged["query"]["start"] == [str(end - 900 * 10**9)]
    assert ranged["query"]["limit"] == ["100"]
    assert count["headers"]["x-scope-orgid"] == "prod"
    kept = json.dumps(result.facts)
    assert "GET /api/v1/payments" not in kept and "req-0a00" not in kept  # no line is kept


async def test_loki_without_recent_lines_fails(
    store: tuple[Store, str], prober: HttpProber
) -> None:
    state, url = store
    loki(state, "loki_count_empty.json", "loki_streams_structured.json")
    result = await run(
        prober, "payments", backend="loki", url=url, query='{app="payments"}', min_lines=10
    )
    assert result.status == RunStatus.FAIL
    assert codes(result) == ["logging.no_logs"]
    message = result.findings[0].message
    assert 'Loki holds 0 lines for {app="payments"}' in message
    assert "at least 10 expected" in message


async def test_loki_plain_lines_and_a_trace_at_info_are_named(
    store: tuple[Store, str], prober: HttpProber
) -> None:
    state, url = store
    loki(state, "loki_count.json", "loki_streams_plain.json")
    result = await run(prober, "payments", backend="loki", url=url)
    assert result.status == RunStatus.WARN
    assert codes(result) == [
        "logging.missing_fields", "logging.stack_trace_at_info", "logging.unstructured",
    ]  # fmt: skip
    by = {f.code: f.message for f in result.findings}
    assert by["logging.unstructured"].startswith("50% of the 4 newest lines are not JSON")
    assert "request_id (on none of the JSON lines)" in by["logging.missing_fields"]
    assert "level" not in by["logging.missing_fields"].split(":")[0]  # lvl/ts/msg aliases
    assert "Python traceback" in by["logging.stack_trace_at_info"]


async def test_a_bad_logql_query_is_loki_own_error(
    store: tuple[Store, str], prober: HttpProber
) -> None:
    state, url = store
    state.text("/loki/api/v1/query", LOKI_PARSE_ERROR, 400)
    result = await run(prober, "payments", backend="loki", url=url, query="{app=payments}")
    assert result.status == RunStatus.ERROR
    assert codes(result) == ["logging.query_failed"]
    assert "unexpected IDENTIFIER" in result.findings[0].message


async def test_elasticsearch_ecs_documents_pass(
    store: tuple[Store, str], prober: HttpProber
) -> None:
    state, url = store
    state.serve("/logs-*/_count", "es_count.json")
    state.serve("/logs-*/_search", "es_search_ecs.json")
    result = await run(
        prober, "payments", {"ES_PASSWORD": "es-secret-pass"}, backend="elasticsearch", url=url,
        username="auditor", password_env="ES_PASSWORD",
    )  # fmt: skip
    assert result.status == RunStatus.PASS, result.findings
    assert result.facts["count"] == 240
    count, search = state.asked
    assert all(a["method"] == "GET" for a in state.asked)  # reads only, no request body
    q = '(service.name:"payments") AND @timestamp:[now-900s TO now]'
    assert count["query"]["q"] == [q]
    assert search["query"]["sort"] == ["@timestamp:desc"]
    assert search["query"]["size"] == ["100"]
    sent = base64.b64decode(count["headers"]["authorization"].split()[1]).decode()
    assert sent == "auditor:es-secret-pass"
    assert "es-secret-pass" not in json.dumps([result.facts, result.summary])


async def test_opensearch_filebeat_lines_are_decoded_and_judged(
    store: tuple[Store, str], prober: HttpProber
) -> None:
    state, url = store
    state.serve("/app-logs/_count", "es_count.json")
    state.serve("/app-logs/_search", "es_search_filebeat.json")
    result = await run(
        prober, "orders", backend="opensearch", url=url, index="app-logs",
        query='service.name:"orders"',
    )  # fmt: skip
    assert codes(result) == ["logging.missing_fields", "logging.stack_trace_at_info"]
    by = {f.code: f.message for f in result.findings}
    assert "Java stack trace" in by["logging.stack_trace_at_info"]
    assert by["logging.missing_fields"].startswith("log lines lack request_id")


async def test_elasticsearch_errors_are_named(store: tuple[Store, str], prober: HttpProber) -> None:
    state, url = store
    state.serve("/logs-nope/_count", "es_index_not_found.json", 404)
    missing = await run(prober, "payments", backend="elasticsearch", url=url, index="logs-nope")
    assert codes(missing) == ["logging.query_failed"]
    assert "no such index [logs-nope]" in missing.findings[0].message
    state.serve("/logs-*/_count", "es_count_zero.json")
    state.serve("/logs-*/_search", "es_search_ecs.json")
    quiet = await run(prober, "payments", backend="elasticsearch", url=url)
    assert codes(quiet) == ["logging.no_logs"]
    state.text("/logs-*/_count", '{"error":"unauthorized"}', 401)
    refused = await run(prober, "payments", backend="elasticsearch", url=url)
    assert codes(refused) == ["logging.unauthorized"]


async def test_the_wrong_url_is_an_invalid_response(
    store: tuple[Store, str], prober: HttpProber
) -> None:
    _, url = store
    result = await run(prober, "payments", backend="loki", url=url + "/grafana")
    assert codes(result) == ["logging.query_failed"]  # a 404 from something that is not Loki
    state_less = await run(prober, "payments", backend="loki", url="http://127.0.0.1:1")
    assert codes(state_less) == ["logging.unreachable"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"backend": "loki", "url": "http://u:pw@loki:3100"}, "credentials"),
        ({"backend": "loki", "url": "http://loki", "query": "app=payments"}, "LogQL selector"),
        ({"backend": "splunk", "url": "http://x"}, "backend"),
        ({"backend": "elasticsearch", "url": "http://es", "index": "_all/../x"}, "index"),
        ({"backend": "loki", "url": "http://loki", "sample": 5000}, "sample"),
        ({"backend": "loki", "url": "http://loki", "fields": {"user": ["u"]}}, "unknown field"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        LoggingOptions(**options)


def test_credentials_are_config_file_only() -> None:
    given = {"backend": "loki", "url": "http://loki", "username": "u", "password_env": "LOKI_PW"}
    fields = {f for f, _ in api_tier_problems("logging", given, ["LOKI_PW"])}
    assert {"options.username", "options.password_env"} <= fields
    assert api_tier_problems("logging", {"backend": "loki", "url": "http://loki"}, []) == []
