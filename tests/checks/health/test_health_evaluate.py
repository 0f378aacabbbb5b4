"""Pure tests of HealthCheck: options validation and evaluate(facts) without a network."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from checks.base import ProbeError, RunStatus
from checks.health import HealthCheck, HealthOptions, _fact_headers
from checks.registry import get_check

CHECK = HealthCheck()


def facts(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "status": 200,
        "elapsed_ms": 12.4,
        "content_type": "application/json",
        "headers": {"content-type": "application/json"},
        "body": '{"status": "ok"}',
        "body_json": {"status": "ok"},
    }
    base.update(extra)
    return base


def test_it_is_registered() -> None:
    assert isinstance(get_check("health"), HealthCheck)
    assert HealthCheck.kind == "health"
    assert HealthCheck.Options is HealthOptions


def test_defaults() -> None:
    options = HealthOptions()
    assert options.path == "/health"
    assert options.method == "GET"
    assert options.expect_status == [200]
    assert options.max_latency is None
    assert options.conditions == []
    assert options.body is None
    assert options.max_redirects == 10
    assert options.body_cap == 1_000_000


@pytest.mark.parametrize(
    ("given", "field", "expected"),
    [
        ({"expect_status": 204}, "expect_status", [204]),
        ({"expect_status": "204"}, "expect_status", [204]),
        ({"expect_status": [200, "2XX", "301"]}, "expect_status", [200, "2xx", 301]),
        ({"max_latency": "300ms"}, "max_latency", 0.3),
        ({"max_latency": "2s"}, "max_latency", 2.0),
        ({"max_latency": 1.5}, "max_latency", 1.5),
        ({"method": "head"}, "method", "HEAD"),
        ({"body_cap": "1MB"}, "body_cap", 1_000_000),
        ({"body_cap": "1MiB"}, "body_cap", 1_048_576),
        ({"conditions": ["  [STATUS] == 200 "]}, "conditions", ["[STATUS] == 200"]),
        ({"conditions": "[STATUS] == 200"}, "conditions", ["[STATUS] == 200"]),
    ],
)
def test_options_parse(given: dict[str, Any], field: str, expected: Any) -> None:
    assert getattr(HealthOptions(**given), field) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"conditions": ["[STATUS] == 200", "[STATUS] = 200"]},
            "conditions.1\n  Value error, invalid condition",
        ),
        (
            {"conditions": ["[STATUS] === 200"]},
            "conditions.0\n  Value error, invalid condition '[STATUS] === 200': unknown operator",
        ),
        ({"conditions": [123]}, "conditions.0\n  Input should be a valid string"),
        ({"conditions": [["x"]]}, "conditions.0\n  Input should be a valid string"),
        ({"method": "FETCH"}, "method must be one of"),
        ({"expect_status": 99}, "expect_status takes"),
        ({"expect_status": "6xx"}, "expect_status takes"),
        ({"expect_status": True}, "expect_status takes"),
        ({"expect_status": []}, "at least one"),
        ({"max_latency": "soon"}, "duration"),
        ({"max_latency": 0}, "greater than zero"),
        ({"body_cap": "lots"}, "size"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_options_reject(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[")):
        HealthOptions(**given)


def test_pass_summary() -> None:
    outcome = CHECK.evaluate(facts(), HealthOptions())
    assert outcome.status is RunStatus.PASS
    assert outcome.summary == "200 OK in 12 ms"
    assert outcome.facts == {"conditions": []}


@pytest.mark.parametrize(
    ("status", "expect", "ok"),
    [
        (200, [200], True),
        (204, [200], False),
        (204, [200, 204], True),
        (204, ["2xx"], True),
        (301, ["2xx"], False),
        (503, ["5xx"], True),
        (799, [200], False),
    ],
)
def test_expected_status(status: int, expect: list[Any], ok: bool) -> None:
    outcome = CHECK.evaluate(facts(status=status), HealthOptions(expect_status=expect))
    assert (outcome.status is RunStatus.PASS) is ok
    if not ok:
        assert outcome.status is RunStatus.FAIL
        assert [f.code for f in outcome.findings] == ["health.status"]


def test_status_message() -> None:
    outcome = CHECK.evaluate(facts(status=503), HealthOptions())
    assert outcome.summary == "HTTP 503 Service Unavailable, expected 200"


def test_latency_warns() -> None:
    options = HealthOptions(max_latency="300ms")
    assert CHECK.evaluate(facts(elapsed_ms=299.0), options).status is RunStatus.PASS
    outcome = CHECK.evaluate(facts(elapsed_ms=450.0), options)
    assert outcome.status is RunStatus.WARN
    assert outcome.summary == "answered in 450 ms, over the 300 ms limit"


@pytest.mark.parametrize(
    ("body_json", "status", "codes"),
    [
        ({"status": "pass"}, RunStatus.PASS, []),
        ({"status": "OK"}, RunStatus.PASS, []),
        ({"status": "up"}, RunStatus.PASS, []),
        ({"status": "warn"}, RunStatus.WARN, ["health.status"]),
        ({"status": "Fail"}, RunStatus.FAIL, ["health.status"]),
        ({"status": "down"}, RunStatus.FAIL, ["health.status"]),
        ({"status": "error"}, RunStatus.FAIL, ["health.status"]),
        ({"status": "sideways"}, RunStatus.WARN, ["health.invalid_response"]),
        ({"version": "1"}, RunStatus.WARN, ["health.invalid_response"]),
        ([1, 2], RunStatus.WARN, ["health.invalid_response"]),
    ],
)
def test_health_json(body_json: Any, status: RunStatus, codes: list[str]) -> None:
    outcome = CHECK.evaluate(
        facts(content_type="application/health+json", body_json=body_json), HealthOptions()
    )
    assert outcome.status is status
    assert [f.code for f in outcome.findings] == codes


def test_plain_json_status_is_not_health_json() -> None:
    outcome = CHECK.evaluate(facts(body_json={"status": "down"}), HealthOptions())
    assert outcome.status is RunStatus.PASS


def test_conditions_in_facts_and_findings() -> None:
    options = HealthOptions(conditions=["[STATUS] == 200", "[BODY].status == up"])
    outcome = CHECK.evaluate(facts(status=200), options)
    assert outcome.status is RunStatus.FAIL
    assert [f.code for f in outcome.findings] == ["health.condition"]
    assert outcome.facts["conditions"] == [
        {"condition": "[STATUS] == 200", "success": True, "display": "[STATUS] (200) == 200"},
        {
            "condition": "[BODY].status == up",
            "success": False,
            "display": "[BODY].status (ok) == up",
        },
    ]


def test_worst_problem_leads_the_summary() -> None:
    options = HealthOptions(max_latency="1ms", conditions=["[STATUS] == 200"])
    outcome = CHECK.evaluate(facts(status=500, elapsed_ms=50.0), options)
    assert outcome.status is RunStatus.FAIL
    # most severe first, then by code: the two high failures lead, the medium latency warning last
    assert outcome.summary == "condition failed: [STATUS] (500) == 200 (+2 more findings)"
    assert [f.code for f in outcome.findings] == [
        "health.condition",
        "health.status",
        "health.latency",
    ]


def test_missing_status_is_invalid_response() -> None:
    outcome = CHECK.evaluate({}, HealthOptions())
    assert outcome.status is RunStatus.FAIL
    assert [f.code for f in outcome.findings] == ["health.invalid_response"]


@pytest.mark.parametrize(
    ("error_kind", "code"),
    [
        ("timeout", "health.timeout"),
        ("refused", "health.unreachable"),
        ("dns", "health.unreachable"),
        ("reset", "health.unreachable"),
        ("tls", "health.tls"),
        ("unreachable", "health.unreachable"),
        ("blocked_by_policy", "health.blocked_by_policy"),
        ("body_too_large", "health.body_too_large"),
        ("too_many_redirects", "health.too_many_redirects"),
        ("invalid_response", "health.invalid_response"),
    ],
)
def test_error_codes(error_kind: str, code: str) -> None:
    assert CHECK.error_finding(ProbeError(error_kind, "x")).code == code


def test_fact_headers_are_lowercased_joined_capped_and_redacted() -> None:
    headers = [("X-A", "1"), ("x-a", "2"), ("Set-Cookie", "sid=secret"), ("X-Long", "v" * 5000)]
    headers += [(f"X-{i}", "y") for i in range(200)]
    out = _fact_headers(headers)
    assert out["x-a"] == "1, 2"
    assert out["set-cookie"] == "<redacted>"
    assert len(out["x-long"]) == 1024
    assert len(out) == 64
