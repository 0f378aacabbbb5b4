"""The CI/CD gate: exit-code contract, JSON and JUnit validity, and the CLI end to end."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.config.sync import sync_config
from auditor.readiness.gate import (
    SCHEMA,
    exit_code,
    render_json,
    render_junit,
    render_text,
    to_json,
)
from auditor.readiness.model import CheckInput, ServiceInput, WaiverInput
from auditor.readiness.score import evaluate_service

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FINDING = {"code": "tls.expired", "severity": "critical", "message": "certificate expired"}


def readiness(*states: str, **kw: Any) -> Any:
    checks = [
        CheckInput(
            f"id{i}",
            f"c{i}",
            "tls",
            state=s,
            last_run_at=NOW,
            findings=(FINDING,) if s == "fail" else (),
        )
        for i, s in enumerate(states)
    ]
    return evaluate_service(ServiceInput("s", "api"), checks, NOW, **kw)


@pytest.mark.parametrize(
    ("states", "strict", "code"),
    [
        (("pass",), False, 0),
        (("pass",), True, 0),
        (("pass", "warn"), False, 0),
        (("pass", "warn"), True, 2),
        (("pass", "fail"), False, 1),
        (("pass", "fail"), True, 1),
        (("pass", "unknown"), False, 3),
        (("pass", "error"), True, 3),
        ((), False, 3),
    ],
)
def test_exit_code_contract(states: tuple[str, ...], strict: bool, code: int) -> None:
    assert exit_code(readiness(*states), strict=strict) == code


def test_json_report_shape() -> None:
    w = WaiverInput("w1", "vendor", "alice", NOW + timedelta(days=2), NOW - timedelta(days=1))
    r = evaluate_service(
        ServiceInput("s", "api"),
        [
            CheckInput(
                "a", "tls", "tls", state="fail", last_run_at=NOW, findings=(FINDING,), blocking=True
            ),
            CheckInput(
                "b", "health", "health", state="fail", last_run_at=NOW, waiver=w, level="silver"
            ),
        ],
        NOW,
        required_level="silver",
    )
    doc = json.loads(render_json(r))
    assert doc["schema"] == SCHEMA == "auditor.gate/v1"
    assert doc["verdict"] == "not_ready" and doc["exit_code"] == 1
    assert doc["score"] == {"value": 0, "min": 0}
    assert doc["level"] == {
        "achieved": None,
        "required": "silver",
        "next": "bronze",
        "blocking_for_next": ["tls"],
    }
    tls = doc["checks"][0]
    assert tls["findings"] == [FINDING] and tls["blocking"] and tls["state"] == "fail"
    health = doc["checks"][1]
    assert health["waived"] and health["waiver"]["reason"] == "vendor"
    assert to_json(r) == doc
    text = render_text(r)
    assert (
        "NOT READY" in text
        and "blocking checks:" in text
        and "tls.expired: certificate expired" in text
    )


def test_junit_one_testcase_per_check() -> None:
    w = WaiverInput("w1", "vendor", "alice", NOW + timedelta(days=2), NOW - timedelta(days=1))
    r = evaluate_service(
        ServiceInput("s", "api"),
        [
            CheckInput("a", "tls", "tls", state="fail", last_run_at=NOW, findings=(FINDING,)),
            CheckInput("b", "health", "health", state="pass", last_run_at=NOW),
            CheckInput("c", "headers", "headers", state="warn", last_run_at=NOW),
            CheckInput("d", "exposure", "exposure", state="unknown", last_run_at=None),
            CheckInput("e", "redirect", "redirect", state="fail", last_run_at=NOW, waiver=w),
        ],
        NOW,
    )
    root = ET.fromstring(render_junit(r).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"tls", "health", "headers", "exposure", "redirect"}
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == ("5", "1", "1", "1")
    assert cases["tls"].find("failure") is not None and "tls.expired" in (
        cases["tls"].find("failure").text or ""
    )
    assert cases["exposure"].find("error") is not None
    assert cases["redirect"].find("skipped") is not None
    assert len(list(cases["health"])) == 0


# -- CLI ---------------------------------------------------------------------------------------


def write_config(tmp_path: Path, url: str = "http://127.0.0.1:9") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[auditor]
database_url = "sqlite:///{tmp_path}/gate.db"

[[services]]
name = "api"
url = "{url}"

[[services.checks]]
kind = "health"
path = "/health"
blocking = true

[[services.checks]]
kind = "health"
name = "ready"
path = "/ready"
level = "silver"
"""
    )
    return path


def set_states(path: Path, **states: str) -> None:
    from sqlmodel import select

    from auditor.config import load_config
    from auditor.store.db import Database
    from auditor.store.models import Check, CheckState, utcnow

    config = load_config(str(path))
    store = Database(config.auditor.database_url)
    sync_config(store, config)
    with store.write() as s:
        for chk in s.exec(select(Check)).all():
            st = s.get(CheckState, chk.id)
            assert st is not None
            st.state = states.get(chk.name, "unknown")
            st.last_run_at = utcnow() if chk.name in states else None
            st.last_findings = [
                {"code": "health.status", "severity": "high", "message": "HTTP 500"}
            ]
            s.add(st)
    store.close()


def gate(path: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["gate", "--config", str(path), *args])


@pytest.mark.parametrize(
    ("states", "args", "code"),
    [
        ({"health": "pass", "ready": "pass"}, [], 0),
        ({"health": "pass", "ready": "fail"}, [], 0),
        ({"health": "pass", "ready": "fail"}, ["--strict"], 2),
        ({"health": "pass", "ready": "fail"}, ["--level", "silver"], 1),
        ({"health": "fail", "ready": "pass"}, [], 1),
        ({"health": "pass"}, ["--level", "silver"], 3),
        ({"health": "pass", "ready": "pass"}, ["--min-score", "100"], 0),
    ],
)
def test_cli_exit_codes(tmp_path: Path, states: dict[str, str], args: list[str], code: int) -> None:
    path = write_config(tmp_path)
    set_states(path, **states)
    res = gate(path, "api", *args)
    assert res.exit_code == code, res.output


@pytest.mark.parametrize(
    "args",
    [
        ["nope"],
        [],
        ["api", "--level", "platinum"],
        ["api", "--min-score", "101"],
        ["api", "--format", "yaml"],
        ["api", "--max-age", "soon"],
        ["api", "--bogus"],
    ],
)
def test_cli_usage_errors_exit_64(tmp_path: Path, args: list[str]) -> None:
    path = write_config(tmp_path)
    set_states(path, health="pass", ready="pass")
    res = gate(path, *args)
    assert res.exit_code == 64, res.output


def test_cli_bad_config_exits_64(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[auditor]\nconcurrency = -1\n")
    assert gate(path, "api").exit_code == 64


def test_cli_json_and_junit(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    set_states(path, health="fail", ready="pass")
    res = gate(path, "api", "--format", "json")
    doc = json.loads(res.output)
    assert (
        res.exit_code == 1 and doc["schema"] == "auditor.gate/v1" and doc["verdict"] == "not_ready"
    )
    assert doc["checks"][0]["findings"][0]["code"] == "health.status"
    res = gate(path, "api", "--format", "junit")
    assert res.exit_code == 1
    ET.fromstring(res.output.split("\n", 1)[1])
    res = gate(path, "api")
    assert "NOT READY" in res.output and "health.status: HTTP 500" in res.output


def test_cli_max_age_makes_old_data_inconclusive(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    set_states(path, health="pass", ready="pass")
    import time_machine

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=12)):
        assert gate(path, "api").exit_code == 0
        assert gate(path, "api", "--max-age", "10m").exit_code == 3


def test_cli_fresh_runs_checks_now(tmp_path: Path) -> None:
    from tests.support import json_route, local_server

    with local_server(
        {"/health": json_route(200, {"status": "ok"}), "/ready": json_route(503, {})}
    ) as url:
        path = write_config(tmp_path, url)
        assert gate(path, "api").exit_code == 3  # never run
        res = gate(path, "api", "--fresh", "--format", "json")
    doc = json.loads(res.output)
    states = {c["name"]: c["state"] for c in doc["checks"]}
    assert states == {"health": "pass", "ready": "fail"}
    assert res.exit_code == 0 and doc["verdict"] == "ready_with_warnings"
