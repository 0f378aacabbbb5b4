"""Reports from the real producers parse into summaries the rules judge; every format's
hand-damaged variant is refused with the problem named (malformed / truncated / wrong)."""

from __future__ import annotations

import json

import pytest

from checks.evidence.errors import ReportError
from checks.evidence.formats import parse_report
from checks.evidence.rules import judge, parse_rules

K6_EXPORT = {
    "root_group": {"name": "", "path": "", "groups": {}, "checks": {}},
    "metrics": {
        "http_reqs": {"count": 6000, "rate": 100.0},
        "iterations": {"count": 6000, "rate": 100.0},
        "http_req_failed": {"passes": 3, "fails": 5997, "value": 0.0005},
        "http_req_duration": {"avg": 80.1, "min": 10.2, "med": 70.0, "max": 900.0,
                              "p(90)": 150.0, "p(95)": 240.5,
                              "thresholds": {"p(95)<300": False}},
    },
}  # fmt: skip
K6_HANDLE_SUMMARY = {
    "state": {"testRunDurationMs": 60000},
    "metrics": {
        "http_reqs": {"type": "counter", "values": {"count": 600, "rate": 10.0}},
        "http_req_failed": {"type": "rate", "values": {"rate": 0.2, "passes": 120, "fails": 480},
                            "thresholds": {"rate<0.01": {"ok": False}}},
        "http_req_duration": {"type": "trend", "values": {"p(95)": 310.0, "p(99)": 700.0,
                                                          "med": 50.0, "avg": 60.0}},
    },
}  # fmt: skip
OHA = {
    "summary": {"successRate": 1.0, "total": 10.0, "requestsPerSec": 950.0},
    "latencyPercentiles": {"p50": 0.002, "p90": 0.004, "p95": 0.005, "p99": 0.012},
    "statusCodeDistribution": {"200": 9490, "503": 10},
    "errorDistribution": {},
}
JTL = (
    "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
    "failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n"
    + "".join(
        f"{1700000000000 + i * 100},{100 + i},home,200,OK,tg 1-1,text,true,,10,5,1,1,"
        f"http://127.0.0.1/,{90 + i},0,1\n" for i in range(99)
    )
    + "1700000009900,900,home,500,ERR,tg 1-1,text,false,boom,10,5,1,1,http://127.0.0.1/,9,0,1\n"
)  # fmt: skip
DRILL = {"from": "1.4.0", "to": "1.3.2", "started_at": "2026-12-01T10:00:00Z",
         "finished_at": "2026-12-01T10:04:10Z", "outcome": "success",
         "runbook_url": "https://wiki.example/runbooks/rollback"}  # fmt: skip


def test_real_junit_from_pytest(junit_xml: bytes) -> None:
    fmt, s = parse_report(junit_xml)
    assert fmt == "junit-xml" and s["tests"] == 2 and s["failures"] == 1
    assert s["suites"] == ["migrations"]
    assert "test_down" in s["failed_cases"][0] and "down failed" in s["failed_cases"][0]
    broken = judge(s, parse_rules({"suite": "migrations"}))
    assert [name for name, _ in broken] == ["tests_failed"]
    assert judge(s, parse_rules({"suite": "roundtrip"}))[-1][1].startswith(
        "expected test suite 'roundtrip'"
    )


def test_real_green_junit_passes(junit_green: bytes) -> None:
    _, s = parse_report(junit_green, "junit-xml")
    assert judge(s, parse_rules(["suite = migrations", "tests >= 1"])) == []


def test_real_bandit_sarif(bandit_sarif: bytes) -> None:
    fmt, s = parse_report(bandit_sarif)
    assert fmt == "sarif" and s["tools"] == ["Bandit"]
    rules = {f["rule"] for f in s["top"]}
    assert {"B602", "B105"} <= rules  # shell=True and the hard-coded password
    assert judge(s, parse_rules({"max_level": "error"})) == []
    [(name, message)] = judge(s, parse_rules({"max_severity": "none"}))
    assert name == "findings" and "B602" in message and "run.py" in message


def test_real_locust_csv_and_json(locust_run: dict[str, bytes]) -> None:
    fmt, csv_s = parse_report(locust_run["csv"])
    assert fmt == "locust-csv" and csv_s["requests"] > 50 and csv_s["failures"] > 0
    assert 0.02 < csv_s["error_rate"] < 0.3  # about one request in ten goes to /bad
    fmt, json_s = parse_report(locust_run["json"])
    assert fmt == "locust-json" and json_s["requests"] > 50 and json_s["p95_ms"] > 0
    [(name, message)] = judge(csv_s, parse_rules({"error_rate": "<= 0.1%"}))
    assert name == "rule" and message.startswith("error_rate is ")
    assert judge(csv_s, parse_rules({"p95": "<= 30s", "requests": ">= 10"})) == []


def test_real_wrk(wrk_output: bytes) -> None:
    fmt, s = parse_report(wrk_output)
    assert fmt == "wrk" and s["requests"] > 100 and s["error_rate"] == 0
    assert s["p99_ms"] >= s["p50_ms"] > 0 and s["duration_s"] == pytest.approx(2, abs=0.5)
    assert judge(s, parse_rules({"rps": ">= 1000000"}))[0][1].startswith("rps is ")
    assert judge(s, parse_rules({"p95": "<= 1s"}))[0][0] == "metric_missing"


def test_k6_export_and_handle_summary() -> None:
    fmt, s = parse_report(json.dumps(K6_EXPORT).encode())
    assert fmt == "k6-summary" and s["p95_ms"] == 240.5 and s["duration_s"] == 60
    assert judge(s, parse_rules(["p95 <= 300ms", "error_rate <= 0.1%", "rps >= 50",
                                 "duration >= 1m"])) == []  # fmt: skip
    _, s = parse_report(json.dumps(K6_HANDLE_SUMMARY).encode())
    names = [n for n, _ in judge(s, parse_rules({"p95": "<= 300ms", "error_rate": "<= 1%"}))]
    assert names == ["thresholds", "rule", "rule"]


def test_oha_jmeter_and_drill() -> None:
    _, s = parse_report(json.dumps(OHA).encode())
    assert s["p95_ms"] == pytest.approx(5) and s["failures"] == 10 and s["rps"] == 950
    fmt, s = parse_report(JTL.encode())
    assert fmt == "jmeter-jtl" and s["requests"] == 100 and s["error_rate"] == 0.01
    assert s["p99_ms"] == 198  # nearest rank: the 99th of 100 sorted samples
    fmt, s = parse_report(json.dumps(DRILL).encode())
    assert fmt == "rollback-drill" and s["duration_s"] == 250
    assert judge(s, parse_rules({"drill_duration": "<= 5m"})) == []
    _, bad = parse_report(json.dumps({**DRILL, "outcome": "failed"}).encode())
    assert judge(bad, [])[0][0] == "drill_failed"


def _damaged() -> list[tuple[str, bytes, str | None, str, str]]:
    k6 = json.dumps(K6_EXPORT)
    return [
        ("k6 cut short", k6[: len(k6) // 2].encode(), None, "truncated", "not valid JSON"),
        ("k6 without http metrics", b'{"metrics": {"vus": {"value": 1}}}', None, "malformed",
         "http_reqs"),
        ("k6 p95 not a number", k6.replace("240.5", '"fast"').encode(), None, "malformed",
         "p(95)"),
        ("locust csv without Aggregated", b"Type,Name,Request Count,Failure Count\nGET,/,1,0\n",
         None, "truncated", "Aggregated"),
        ("jtl line cut", (JTL[:-40]).encode(), None, "truncated", "JTL line 101"),
        ("wrk without Requests/sec", b"Running 2s test @ http://x/\n  10 requests in 2.00s, 1KB read\n",
         None, "truncated", "Requests/sec"),
        ("junit cut", b'<testsuites><testsuite name="x"><testcase name="a"/>', None, "truncated",
         "does not parse"),
        ("junit with entities", b'<!DOCTYPE x [<!ENTITY a "b">]><testsuite/>', None, "malformed",
         "DTD"),
        ("junit empty suite", b'<testsuite name="x"></testsuite>', None, "malformed", "testcase"),
        ("sarif 2.0", b'{"version": "2.0.0", "runs": []}', None, "malformed", "2.1.0"),
        ("sarif without driver", b'{"version": "2.1.0", "runs": [{"results": []}]}', None,
         "malformed", "driver.name"),
        ("drill without runbook", json.dumps({**DRILL, "runbook_url": ""}).encode(), None,
         "malformed", "runbook_url"),
        ("drill bad outcome", json.dumps({**DRILL, "outcome": "ok"}).encode(), None, "malformed",
         "outcome"),
        ("oha without percentiles", b'{"summary": {}, "statusCodeDistribution": {}}', None,
         "malformed", "latencyPercentiles"),
        ("declared k6, is JUnit", b'<testsuite><testcase name="a"/></testsuite>', "k6-summary",
         "wrong_format", "junit-xml"),
        ("unknown format", b"hello world\n", None, "unknown_format", "not a known report"),
        ("binary", b"\xff\xfe\x00garbage", None, "malformed", "UTF-8"),
        ("empty", b"  \n", None, "malformed", "empty"),
    ]  # fmt: skip


@pytest.mark.parametrize(("raw", "declared", "problem", "says"),
                         [d[1:] for d in _damaged()], ids=[d[0] for d in _damaged()])  # fmt: skip
def test_damaged_reports_name_the_problem(raw: bytes, declared: str | None, problem: str,
                                          says: str) -> None:  # fmt: skip
    with pytest.raises(ReportError) as err:
        parse_report(raw, declared)
    assert err.value.problem == problem and says in err.value.message


@pytest.mark.parametrize("real", ["junit_xml", "bandit_sarif", "wrk_output"])
def test_real_reports_cut_in_half_are_refused(real: str, request: pytest.FixtureRequest) -> None:
    raw: bytes = request.getfixturevalue(real)
    with pytest.raises(ReportError) as err:
        parse_report(raw[: len(raw) // 2])
    assert err.value.problem in ("truncated", "malformed")


def test_bad_rules_name_the_rule() -> None:
    for spec, says in (({"p96": "<= 1s"}, "unknown rule 'p96'"), ({"p95": "300ms"}, "comparison"),
                       ({"error_rate": "<= lots"}, "error_rate"), (["p95 is small"], "[0]"),
                       ({"max_level": "fatal"}, "max_level")):  # fmt: skip
        with pytest.raises(ValueError, match=None) as err:
            parse_rules(spec)
        assert says in str(err.value)
