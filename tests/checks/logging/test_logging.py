"""``logging`` against local servers answering with the real APIs' response shapes (Loki
``query_range`` streams, Elasticsearch ``_search`` hits — recorded from the documented
responses; neither store installs here): enough lines, structured, the usual fields, no
stack trace at info; and the query each backend is sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.logs import LoggingCheck

GOOD = {"level": "info", "timestamp": "2026-12-04T09:00:00Z", "message": "paid",
        "request_id": "r-1"}  # fmt: skip
TRACE = {"level": "info", "ts": "2026-12-04T09:00:01Z", "msg": "oops",
         "request_id": "r-2", "exc": "Traceback (most recent call last):\n  File x"}  # fmt: skip


@pytest.fixture(scope="module")
def store() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"lines": [], "seen": []}
    app = Flask("logs")

    @app.get("/loki/api/v1/query_range")
    def loki() -> Any:
        state["seen"].append(dict(request.args))
        values = [[str(1796374800000000000 + i), line] for i, line in enumerate(state["lines"])]
        return jsonify(status="success", data={"resultType": "streams", "result": [
            {"stream": {"job": "payments"}, "values": values}]})  # fmt: skip

    @app.get("/logs-app/_search")
    def es() -> Any:
        state["seen"].append(dict(request.args))
        hits = [{"_index": "logs-app", "_id": str(i), "_source": json.loads(line)}
                for i, line in enumerate(state["lines"])]  # fmt: skip
        return jsonify(took=3, timed_out=False, hits={"total": {"value": len(hits),
                                                                "relation": "eq"},
                                                      "hits": hits})  # fmt: skip

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{srv.socket.getsockname()[1]}"
    yield state
    srv.shutdown()


async def audit(**options: Any) -> RunResult:
    check = LoggingCheck()
    opts = check.Options.model_validate(options)
    return await run_check(check, Target("payments", "https://x", "logs", "logging"), opts,
                           prober=HttpProber(), timeout=5)  # fmt: skip


async def test_loki_structured_lines_pass(store: dict[str, Any]) -> None:
    store["lines"] = [json.dumps(GOOD)] * 5
    r = await audit(backend="loki", url=store["url"], query='{job="payments"}', min_lines=3,
                    window="10m")  # fmt: skip
    assert r.status is RunStatus.PASS and r.facts["lines"] == 5, r.summary
    sent = store["seen"][-1]
    assert sent["query"] == '{job="payments"}' and sent["direction"] == "backward"
    assert int(sent["end"]) - int(sent["start"]) == 600 * 10**9
    assert "paid" not in json.dumps(r.facts)  # counts only, never log lines


async def test_loki_plain_text_traces_and_too_few(store: dict[str, Any]) -> None:
    store["lines"] = ["GET / 200", json.dumps(TRACE), json.dumps({"level": "info", "msg": "x"})]
    r = await audit(backend="loki", url=store["url"], query='{job="payments"}', min_lines=10)
    codes = {f.code for f in r.findings}
    assert codes == {"logging.too_few_lines", "logging.unstructured", "logging.missing_field",
                     "logging.stack_trace_at_info"}  # fmt: skip
    assert r.status is RunStatus.FAIL and "1 of 3 sampled lines are not JSON" in " ".join(
        f.message for f in r.findings
    )


async def test_elasticsearch_search(store: dict[str, Any]) -> None:
    store["lines"] = [json.dumps({**GOOD, "@timestamp": "x"})] * 2
    r = await audit(backend="elasticsearch", url=store["url"], index="logs-app",
                    query='service:"payments"', window="5m")  # fmt: skip
    assert r.status is RunStatus.PASS, r.summary
    assert store["seen"][-1]["q"] == '(service:"payments") AND @timestamp:>=now-300s'


async def test_unreachable_store_and_bad_answers(store: dict[str, Any]) -> None:
    r = await audit(backend="loki", url="http://127.0.0.1:9", query="{}")
    assert r.status is RunStatus.ERROR and r.findings[0].code == "logging.unreachable"
    r = await audit(backend="elasticsearch", url=store["url"], index="nope", query="*")
    assert r.findings[0].code == "logging.invalid_response" and "HTTP 404" in r.summary
