"""Pure table-driven tests for the Gatus-style condition language (checks/conditions.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.conditions import (
    ConditionError,
    evaluate,
    parse_condition,
    references_body,
)

BODY = {
    "status": "ok",
    "version": "1.2.3",
    "uptime": 42.5,
    "count": 3,
    "ready": True,
    "nothing": None,
    "items": [1, 2, 3],
    "empty": [],
    "data": [{"name": "john", "id": 7}, {"name": "jane", "id": 8}],
    "nested": {"db": {"status": "up", "latency_ms": 3}},
    "dash-key": "x",
    "message": "a < b",
}

FACTS: dict[str, Any] = {
    "status": 200,
    "elapsed_ms": 123.9,
    "headers": {"content-type": "application/json", "x-version": "7"},
    "body": json.dumps(BODY),
    "peer": "127.0.0.1",
}


def run(text: str, facts: dict[str, Any] | None = None) -> tuple[bool, str]:
    result = evaluate(parse_condition(text), FACTS if facts is None else facts)
    assert result.condition == text.strip()
    return result.success, result.display


@pytest.mark.parametrize(
    ("text", "success", "display"),
    [
        # every operator, numeric
        pytest.param("[STATUS] == 200", True, "[STATUS] (200) == 200", id="eq"),
        pytest.param("[STATUS] == 503", False, "[STATUS] (200) == 503", id="eq-fail"),
        pytest.param("[STATUS] != 500", True, "[STATUS] (200) != 500", id="ne"),
        pytest.param("[STATUS] != 200", False, "[STATUS] (200) != 200", id="ne-fail"),
        pytest.param("[STATUS] < 300", True, "[STATUS] (200) < 300", id="lt"),
        pytest.param("[STATUS] < 200", False, "[STATUS] (200) < 200", id="lt-fail"),
        pytest.param("[STATUS] <= 200", True, "[STATUS] (200) <= 200", id="le"),
        pytest.param("[STATUS] <= 199", False, "[STATUS] (200) <= 199", id="le-fail"),
        pytest.param("[STATUS] > 199", True, "[STATUS] (200) > 199", id="gt"),
        pytest.param("[STATUS] > 200", False, "[STATUS] (200) > 200", id="gt-fail"),
        pytest.param("[STATUS] >= 200", True, "[STATUS] (200) >= 200", id="ge"),
        pytest.param("[STATUS] >= 201", False, "[STATUS] (200) >= 201", id="ge-fail"),
        pytest.param("[STATUS] == 200.0", True, "[STATUS] (200) == 200.0", id="numeric-eq"),
        pytest.param(
            "[BODY].uptime > 9", True, "[BODY].uptime (42.5) > 9", id="numeric-not-lexical"
        ),
        pytest.param("200 == [STATUS]", True, "200 == [STATUS] (200)", id="placeholder-right"),
        pytest.param("[STATUS]==200", True, "[STATUS] (200) == 200", id="no-spaces"),
        # response time, header, ip, connected
        pytest.param("[RESPONSE_TIME] < 300", True, "[RESPONSE_TIME] (123) < 300", id="rt"),
        pytest.param("[RESPONSE_TIME] < 100", False, "[RESPONSE_TIME] (123) < 100", id="rt-fail"),
        pytest.param(
            "[HEADER].Content-Type == application/json",
            True,
            "[HEADER].Content-Type (application/json) == application/json",
            id="header-case-insensitive",
        ),
        pytest.param(
            "[HEADER].x-version >= 7", True, "[HEADER].x-version (7) >= 7", id="header-num"
        ),
        pytest.param(
            "[HEADER].x-missing == a",
            False,
            "[HEADER].x-missing (INVALID) == a",
            id="header-missing",
        ),
        pytest.param("[IP] == 127.0.0.1", True, "[IP] (127.0.0.1) == 127.0.0.1", id="ip"),
        pytest.param("[CONNECTED] == true", True, "[CONNECTED] (true) == true", id="connected"),
        # JSON paths
        pytest.param("[BODY].status == ok", True, "[BODY].status (ok) == ok", id="body-key"),
        pytest.param(
            "[BODY].status == down", False, "[BODY].status (ok) == down", id="body-key-fail"
        ),
        pytest.param(
            "[BODY].data[0].name == john", True, "[BODY].data[0].name (john) == john", id="index"
        ),
        pytest.param("[BODY].data[1].id == 8", True, "[BODY].data[1].id (8) == 8", id="index-1"),
        pytest.param(
            "[BODY].data[-1].name == jane",
            True,
            "[BODY].data[-1].name (jane) == jane",
            id="neg-index",
        ),
        pytest.param(
            "[BODY].data[5].name == x", False, "[BODY].data[5].name (INVALID) == x", id="index-out"
        ),
        pytest.param(
            "[BODY].nested.db.status == up", True, "[BODY].nested.db.status (up) == up", id="nested"
        ),
        pytest.param("[BODY].dash-key == x", True, "[BODY].dash-key (x) == x", id="dash-key"),
        pytest.param("[BODY].ready == true", True, "[BODY].ready (true) == true", id="bool"),
        pytest.param("[BODY].nothing == null", True, "[BODY].nothing (null) == null", id="null"),
        pytest.param(
            "[BODY].items == [1,2,3]", True, "[BODY].items ([1,2,3]) == [1,2,3]", id="list-json"
        ),
        pytest.param(
            "[BODY].missing != x", False, "[BODY].missing (INVALID) != x", id="missing-fails-ne"
        ),
        pytest.param(
            "[BODY].status.deeper == x",
            False,
            "[BODY].status.deeper (INVALID) == x",
            id="path-through-str",
        ),
        pytest.param(
            '[BODY].message == "a < b"', True, '[BODY].message (a < b) == "a < b"', id="quoted"
        ),
        pytest.param(
            '[BODY].version == "1.2.3"', True, '[BODY].version (1.2.3) == "1.2.3"', id="quoted-2"
        ),
        # not both numbers: plain string comparison ("1.2.3" > "1.10" lexically)
        pytest.param(
            "[BODY].version > 1.10", True, "[BODY].version (1.2.3) > 1.10", id="string-compare"
        ),
        # functions
        pytest.param("len([BODY].items) == 3", True, "len([BODY].items) (3) == 3", id="len"),
        pytest.param("len([BODY].items) > 3", False, "len([BODY].items) (3) > 3", id="len-fail"),
        pytest.param("len([BODY].empty) == 0", True, "len([BODY].empty) (0) == 0", id="len-empty"),
        pytest.param("len([BODY].status) == 2", True, "len([BODY].status) (2) == 2", id="len-str"),
        pytest.param("len([BODY].data) >= 2", True, "len([BODY].data) (2) >= 2", id="len-objs"),
        pytest.param(
            "len([BODY].count) == 1", False, "len([BODY].count) (INVALID) == 1", id="len-number"
        ),
        pytest.param(
            "len([BODY].missing) == 0",
            False,
            "len([BODY].missing) (INVALID) == 0",
            id="len-missing",
        ),
        pytest.param(
            "has([BODY].errors) == false",
            True,
            "has([BODY].errors) (false) == false",
            id="has-false",
        ),
        pytest.param(
            "has([BODY].status) == true", True, "has([BODY].status) (true) == true", id="has-true"
        ),
        pytest.param(
            "has([BODY].nothing) == true", True, "has([BODY].nothing) (true) == true", id="has-null"
        ),
        pytest.param(
            "has([HEADER].x-version) == true",
            True,
            "has([HEADER].x-version) (true) == true",
            id="has-header",
        ),
        pytest.param(
            "[BODY].data[0].name == pat(jo*)",
            True,
            "[BODY].data[0].name (john) == pat(jo*)",
            id="pat",
        ),
        pytest.param(
            "[BODY].data[1].name == pat(jo*)",
            False,
            "[BODY].data[1].name (jane) == pat(jo*)",
            id="pat-fail",
        ),
        pytest.param(
            "[BODY].version == pat(1.*.3)",
            True,
            "[BODY].version (1.2.3) == pat(1.*.3)",
            id="pat-middle",
        ),
        pytest.param(
            "[BODY].version == pat(1.2.?)",
            False,
            "[BODY].version (1.2.3) == pat(1.2.?)",
            id="pat-literal-q",
        ),
        pytest.param(
            "[BODY].status != pat(err*)", True, "[BODY].status (ok) != pat(err*)", id="pat-ne"
        ),
        pytest.param(
            "pat(o*) == [BODY].status", True, "pat(o*) == [BODY].status (ok)", id="pat-left"
        ),
        pytest.param(
            "[STATUS] == any(200, 204)", True, "[STATUS] (200) == any(200, 204)", id="any"
        ),
        pytest.param(
            "[STATUS] == any(201, 204)", False, "[STATUS] (200) == any(201, 204)", id="any-fail"
        ),
        pytest.param(
            "[BODY].status == any(ok, up)", True, "[BODY].status (ok) == any(ok, up)", id="any-str"
        ),
        pytest.param(
            "[BODY].status != any(fail, down)",
            True,
            "[BODY].status (ok) != any(fail, down)",
            id="any-ne",
        ),
        pytest.param("len([BODY]) == 12", True, "len([BODY]) (12) == 12", id="len-body-object"),
    ],
)
def test_condition_table(text: str, success: bool, display: str) -> None:
    assert run(text) == (success, display)


@pytest.mark.parametrize(
    ("facts", "text", "success", "display"),
    [
        pytest.param(
            {"status": 503}, "[STATUS] == 200", False, "[STATUS] (503) == 200", id="gatus-display"
        ),
        pytest.param(
            {"status": 200, "body": "pong"},
            "[BODY] == pong",
            True,
            "[BODY] (pong) == pong",
            id="raw-body",
        ),
        pytest.param(
            {"status": 200, "body": "pong"},
            "len([BODY]) == 4",
            True,
            "len([BODY]) (4) == 4",
            id="len-raw-body",
        ),
        pytest.param(
            {"status": 200, "body": "not json"},
            "[BODY].a == 1",
            False,
            "[BODY].a (INVALID) == 1",
            id="not-json",
        ),
        pytest.param(
            {"status": 200, "body": "[1,2]"},
            "[BODY][1] == 2",
            True,
            "[BODY][1] (2) == 2",
            id="root-array",
        ),
        pytest.param(
            {"status": 200, "body_json": {"a": 1}},
            "[BODY].a == 1",
            True,
            "[BODY].a (1) == 1",
            id="body-json-fact",
        ),
        pytest.param(
            {"status": 200}, "[BODY].a == 1", False, "[BODY].a (INVALID) == 1", id="no-body"
        ),
        pytest.param({}, "[STATUS] == 200", False, "[STATUS] (INVALID) == 200", id="no-status"),
        pytest.param(
            {}, "[CONNECTED] == false", True, "[CONNECTED] (false) == false", id="not-connected"
        ),
        pytest.param(
            {"status": 200, "body": "x" * 500},
            "[BODY] == y",
            False,
            "[BODY] (" + "x" * 119 + "…) == y",
            id="display-shortened",
        ),
    ],
)
def test_condition_facts(facts: dict[str, Any], text: str, success: bool, display: str) -> None:
    assert run(text, facts) == (success, display)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("   ", "empty", id="blank"),
        pytest.param("[STATUS]", "no operator", id="no-operator"),
        pytest.param("[STATUS] = 200", "no operator", id="single-equals"),
        pytest.param("[STATUS] == ", "both sides", id="missing-right"),
        pytest.param("== 200", "both sides", id="missing-left"),
        pytest.param("[STATUS] == 200 == 300", "more than one operator", id="two-operators"),
        pytest.param("[BODY].message == a < b", "more than one operator", id="unquoted-operator"),
        pytest.param("[STATUS]<200<300", "more than one operator", id="two-operators-unspaced"),
        pytest.param("[STATUSS] == 200", "unknown placeholder", id="unknown-placeholder"),
        pytest.param("[FOO] == 1", "unknown placeholder", id="unknown-placeholder-2"),
        pytest.param("[STATUS].x == 1", "takes no path", id="status-path"),
        pytest.param("[HEADER] == x", "header name", id="header-no-name"),
        pytest.param("[HEADER].a b == x", "header name", id="header-bad-name"),
        pytest.param("[BODY]..a == 1", "invalid JSON path", id="double-dot"),
        pytest.param("[BODY].a[x] == 1", "invalid JSON path", id="bad-index"),
        pytest.param("[BODY]a == 1", "invalid JSON path", id="no-dot"),
        pytest.param("a == b", "no placeholder", id="two-literals"),
        pytest.param("len(5) == 1", "placeholder", id="len-literal"),
        pytest.param("has() == true", "placeholder", id="has-empty"),
        pytest.param("[BODY].a < pat(x*)", "only works with == and !=", id="pat-lt"),
        pytest.param("[STATUS] > any(1, 2)", "only works with == and !=", id="any-gt"),
        pytest.param("pat(a) == any(a)", "both sides", id="pat-any"),
        pytest.param("[BODY].a == pat()", "pattern", id="pat-empty"),
        pytest.param("[BODY].a == pat([STATUS])", "literal pattern", id="pat-placeholder"),
        pytest.param("[STATUS] == any(200,,201)", "comma-separated", id="any-empty-arg"),
        pytest.param("[STATUS] == any([STATUS])", "literal values", id="any-placeholder"),
        pytest.param("[RESPONSE_TIME] < 300ms", "is a number", id="rt-unit"),
        pytest.param("len([BODY].a) >= many", "is a number", id="len-not-number"),
        pytest.param("abc > [STATUS]", "is a number", id="status-not-number"),
        pytest.param('[BODY].a == "x', "unbalanced double quote", id="quote"),
        pytest.param("len([BODY].a == 3", "no operator", id="unbalanced-paren"),
        pytest.param("[STATUS] == " + "1" * 2000, "longer than", id="too-long"),
    ],
)
def test_invalid_conditions(text: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        parse_condition(text)


def test_condition_error_is_value_error() -> None:
    assert issubclass(ConditionError, ValueError)
    with pytest.raises(ValueError):
        parse_condition(123)  # type: ignore[arg-type]


def test_references_body() -> None:
    assert references_body(parse_condition("[BODY].a == 1"))
    assert references_body(parse_condition("len([BODY]) > 1"))
    assert references_body(parse_condition("has([BODY].x) == false"))
    assert not references_body(parse_condition("[STATUS] == 200"))
    assert not references_body(parse_condition("[HEADER].x == 1"))


def test_to_dict() -> None:
    result = evaluate(parse_condition("[STATUS] == 200"), {"status": 503})
    assert result.to_dict() == {
        "condition": "[STATUS] == 200",
        "success": False,
        "display": "[STATUS] (503) == 200",
    }


_ALPHABET = st.sampled_from(
    [
        *list("[]().,\"'*<>=! -_0123456789abcxyz"),
        "[STATUS]",
        "[BODY]",
        "[HEADER]",
        "len(",
        "pat(",
        "any(",
        "has(",
        " == ",
        "\n",
        "é",
        "٣",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_ALPHABET, max_size=20).map("".join)))
def test_parse_never_raises_anything_but_condition_error(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ConditionError:
        return
    # whatever parses must evaluate without raising, on empty and on full facts
    evaluate(condition, {})
    evaluate(condition, FACTS)
