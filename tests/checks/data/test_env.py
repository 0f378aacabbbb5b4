"""env check against real dotenv files, a real child process's /proc environ and a local
HTTP endpoint — and proof that no seeded value reaches facts, findings, summary or logs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pydantic
import pytest

from auditor.probe.http import HttpProber
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.env import EnvCheck
from checks.env.rules import judge
from checks.env.sources.dotenv import parse_dotenv

STRONG = "Zq8#vL2!pW9@rT5$yK1%nM4^bX7&cH3*"  # 32 chars, diverse
SEEDS = {
    "SECRET_KEY": "django-insecure-Seed1Value1Qwertyuiop1234567890abc",
    "API_KEY": "seedshort-Key-9",
    "DATABASE_URL": "postgres://postgres:postgres@db.internal:5432/app",
    "AMQP_URL": "amqp://guest:guest@mq:5672/",
    "S3_ACCESS_SECRET": "minioadmin",
    "STRIPE_TOKEN": "your-stripe-token-here",
    "DEBUG": "true",
    "SESSION_SECRET": STRONG,
    "EMPTY_ONE": "",
    "MAIL_FROM": "Seed-Mail-From-Value",
}
REQUIRED = ["SECRET_KEY", "API_KEY", "DATABASE_URL", "SESSION_SECRET", "EMPTY_ONE", "NOT_THERE"]


def dotenv_text(values: dict[str, str]) -> str:
    return "# app config\n" + "\n".join(f'{k}="{v}"' for k, v in values.items()) + "\n"


async def audit(source: str, *, environment: str = "production", **options: Any) -> RunResult:
    check = EnvCheck()
    opts = check.Options.model_validate({"source": source, **options})
    target = Target("svc", base_url, "env", "env", environment=environment, check_id="e1")
    prober = HttpProber()
    try:
        return await run_check(check, target, opts, prober=prober, timeout=5)
    finally:
        await prober.aclose()


base_url = "http://127.0.0.1:1"


def codes(result: RunResult) -> dict[str, str]:
    return {f.code: f.message for f in result.findings}


def assert_no_values(result: RunResult, *extra_text: str) -> None:
    blob = json.dumps(result.to_dict()) + repr(result) + "".join(extra_text)
    for name, value in SEEDS.items():
        if name != "DEBUG" and value:  # a boolean flag's "true" is not distinctive
            assert value not in blob, f"value of {name} leaked"
    for fragment in (
        "Seed1Value1",
        "seedshort",
        "db.internal",
        "guest@mq",
        "stripe-token",
        "Mail-From",
    ):
        assert fragment not in blob


def expect_seed_findings(found: dict[str, str]) -> None:
    assert "NOT_THERE" in found["env.missing"]
    assert "EMPTY_ONE" in found["env.empty"]
    assert "STRIPE_TOKEN" in found["env.placeholder"]
    assert "DEBUG" in found["env.debug_enabled"]
    weak = found["env.weak_secret"]
    assert "SECRET_KEY" in weak and "API_KEY" in weak and "SESSION_SECRET" not in weak
    cred = found["env.default_credential"]
    assert "DATABASE_URL" in cred and "AMQP_URL" in cred and "S3_ACCESS_SECRET" in cred


async def test_dotenv_rules_and_no_value_leaves(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / ".env"
    path.write_text(dotenv_text(SEEDS))
    result = await audit(f"dotenv:{path}", required=REQUIRED)
    assert result.status is RunStatus.FAIL
    found = codes(result)
    expect_seed_findings(found)
    assert (
        "SESSION_SECRET" in result.facts["names"] and result.facts["names"]["SESSION_SECRET"] == []
    )
    out, err = capsys.readouterr()
    assert_no_values(result, caplog.text, out, err)


async def test_manifest_names_and_example_values(tmp_path: Path) -> None:
    example = tmp_path / ".env.example"
    example.write_text(
        "APP_SECRET=please-set-a-long-random-value-here-000\nPORT=8080\nREDIS_HOST=\nNEEDED=\n"
    )
    env = tmp_path / ".env"
    env.write_text("APP_SECRET=please-set-a-long-random-value-here-000\nPORT=8080\nREDIS_HOST=r1\n")
    result = await audit(f"dotenv:{env}", manifest=str(example))
    found = codes(result)
    assert set(found) == {"env.missing", "env.placeholder"}, found
    assert "NEEDED" in found["env.missing"] and "APP_SECRET" in found["env.placeholder"]
    assert "please-set" not in json.dumps(result.to_dict())


async def test_clean_dotenv_passes_and_debug_only_matters_in_production(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"SECRET_KEY='{STRONG}'\nDEBUG=1\nexport PORT=80 # web\n")
    staging = await audit(f"dotenv:{env}", environment="staging", required=["SECRET_KEY", "PORT"])
    assert staging.status is RunStatus.PASS, staging.to_dict()
    prod = await audit(f"dotenv:{env}", required=["SECRET_KEY"])
    assert set(codes(prod)) == {"env.debug_enabled"}


async def test_unreadable_dotenv(tmp_path: Path) -> None:
    result = await audit(f"dotenv:{tmp_path / 'nope.env'}", required=["A"])
    assert result.status is RunStatus.ERROR
    assert set(codes(result)) == {"env.source_unreadable"}


async def test_real_child_process_environ(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", **SEEDS},
    )
    try:
        result = await audit(f"process:{child.pid}", required=REQUIRED)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
    assert result.facts["source_kind"] == "process"
    expect_seed_findings(codes(result))
    out, err = capsys.readouterr()
    assert_no_values(result, caplog.text, out, err)


async def test_gone_process_is_unreadable() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=10)
    result = await audit(f"process:{child.pid}", required=["A"])
    assert set(codes(result)) == {"env.source_unreadable"}


class _Handler(BaseHTTPRequestHandler):
    bodies: dict[str, Any] = {}

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    global base_url
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base_url
    httpd.shutdown()
    httpd.server_close()


def actuator(values: dict[str, str]) -> dict[str, Any]:
    return {
        "activeProfiles": ["prod"],
        "propertySources": [
            {"name": "server.ports", "properties": {"local.server.port": {"value": "******"}}},
            {
                "name": "systemEnvironment",
                "properties": {
                    k: {"value": v, "origin": "System Environment Property"}
                    for k, v in values.items()
                },
            },
        ],
    }


async def test_http_names_list(server: str) -> None:
    _Handler.bodies["/internal/config-names"] = ["SECRET_KEY", "DATABASE_URL", "PORT"]
    result = await audit(
        "http:/internal/config-names", required=["SECRET_KEY", "PORT", "SMTP_HOST"]
    )
    found = codes(result)
    assert set(found) == {"env.missing", "env.unverifiable"}, found
    assert "SMTP_HOST" in found["env.missing"] and "SECRET_KEY" in found["env.unverifiable"]


async def test_http_actuator_masked_and_exposed(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _Handler.bodies["/actuator/env"] = actuator({k: "******" for k in SEEDS})
    masked = await audit("http:/actuator/env", required=REQUIRED)
    found = codes(masked)
    assert set(found) == {"env.missing", "env.unverifiable"}, found
    assert "NOT_THERE" in found["env.missing"]
    _Handler.bodies["/actuator/env2"] = actuator(SEEDS)
    exposed = await audit("http:/actuator/env2", required=REQUIRED)
    found = codes(exposed)
    assert "env.values_exposed" in found
    expect_seed_findings(found)
    assert_no_values(exposed, caplog.text)


async def test_http_error_is_source_unreadable(server: str) -> None:
    result = await audit("http:/missing", required=["A"])
    assert set(codes(result)) == {"env.source_unreadable"}
    assert result.status is RunStatus.ERROR


def test_options_contract() -> None:
    for bad in ("file:/x", "process:abc", "dotenv:", "http"):
        with pytest.raises(pydantic.ValidationError):
            EnvCheck.Options.model_validate({"source": bad})
    with pytest.raises(pydantic.ValidationError):
        EnvCheck.Options.model_validate({"source": "dotenv:/x", "values": {}})


@pytest.mark.parametrize(
    ("name", "value", "verdicts"),
    [
        ("SECRET_KEY", STRONG, []),
        ("SECRET_KEY", "a" * 40, ["weak_secret"]),
        ("AWS_ACCESS_KEY_ID", "AKIA123", []),
        ("PASSWORD", "changeme", ["placeholder", "default_credential"]),
        ("DB_PASSWORD", "postgres", ["default_credential"]),
        ("TOKEN", "xxxx", ["placeholder"]),
        ("HOST", "<your host>", ["placeholder"]),
        ("FLASK_DEBUG", "0", []),
        ("APP_DEBUG", "TRUE", ["debug_enabled"]),
        ("BROKER", "guest:guest", ["default_credential"]),
        ("LOG_LEVEL", "info", []),
    ],
)
def test_rules(name: str, value: str, verdicts: list[str]) -> None:
    assert judge(name, value, required=True, production=True) == verdicts


def test_dotenv_parser() -> None:
    text = (
        'A=1\nexport B="two # not comment"\nC=three # comment\nD=\'x\\ny\'\nE="l1\nl2"\nbad line\n'
    )
    assert parse_dotenv(text) == {
        "A": "1",
        "B": "two # not comment",
        "C": "three",
        "D": "x\\ny",
        "E": "l1\nl2",
    }
