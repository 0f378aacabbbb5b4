"""Config validation (issue #23): every mistake at once, each with its line in the file and a
"did you mean" for a misspelt key; conditions, URLs and maintenance windows judged at load;
``config check`` also judges the host (database drivers: errors; unset ``*_env``: warnings).
The CLI runs as a real ``auditor`` subprocess."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from auditor.config import ConfigError, load_config, parse_config
from auditor.config.locate import Locator, parse_path
from checks.registry import known_kinds

ROOT = Path(__file__).resolve().parents[2]
KINDS = ", ".join(sorted(known_kinds()))

#: several mistakes in one file: a service-level one (the URL) must not hide its checks'
MISTAKES = """\
[auditor]
concurency = 10

[[services]]
name = "api"
url = "https://api.example.com"

[[services.checks]]
kind = "tls"
warn_days = 21

[[services]]
name = "web"
url = "https://we b.example.com"

[[services.checks]]
kind = "health"
intervall = "30s"
conditions = [
  "[STATUS] == 200",
  "[STATUS] === 200",
]

[[services.checks]]
kind = "tsl"

[[services]]
name = "admin"
url = "https://admin.example.com:99999"

[[alerting.maintenance]]
name = "upgrade"
services = ["apii"]
start = "2026-05-01T22:00:00Z"
end = "2026-05-01T20:00:00Z"
"""

EXPECTED = [
    'c.toml:2: auditor.concurency: unknown key; did you mean "concurrency"?',
    "c.toml:14: services[1].url: must not contain spaces or other whitespace "
    "(write a space as %20)",
    'c.toml:18: services[1].checks[0].intervall: unknown key; did you mean "interval"?',
    "c.toml:21: services[1].checks[0].conditions[1]: invalid condition '[STATUS] === 200': "
    "unknown operator '===' (expected one of == != <= >= < >; quote a literal value that "
    'contains it: "a==b")',
    f"c.toml:25: services[1].checks[1].kind: unknown check kind 'tsl' (known: {KINDS}); "
    'did you mean "tls"?',
    "c.toml:29: services[2].url: port 99999 is out of range (1-65535)",
    "c.toml:33: alerting.maintenance[0].services[0]: unknown service 'apii'; did you mean \"api\"?",
    "c.toml:35: alerting.maintenance[0].end: 2026-05-01T20:00:00Z must be after start "
    "(2026-05-01T22:00:00Z)",
]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def _check(cwd: Path, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", "config", "check", "--config", "c.toml"],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_config_check_lists_every_mistake_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(MISTAKES)
    proc = _check(tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == "configuration error in c.toml:"
    assert [line.strip() for line in lines[1:]] == EXPECTED
    assert proc.stdout == ""


def test_a_service_error_does_not_hide_its_checks() -> None:
    data = {
        "services": [
            {
                "name": "Bad Name",
                "url": "https://x:99999",
                "checks": [{"kind": "tls", "warn_dayz": 3}, {"kind": "health", "timeout": "x"}],
            }
        ]
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert [p.split(":")[0] for p in info.value.problems] == [
        "services[0].name",
        "services[0].url",
        "services[0].checks[0].warn_dayz",
        "services[0].checks[1].timeout",
    ]


def test_a_bad_shared_key_does_not_hide_a_bad_option() -> None:
    data = {
        "services": [
            {"name": "a", "url": "https://a.example", "checks": [{"kind": "tls", "level": "x"}]}
        ]
    }
    data["services"][0]["checks"][0]["fail_dayz"] = 1
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert info.value.problems == [
        "services[0].checks[0].level: must be one of 'bronze', 'silver' or 'gold'",
        'services[0].checks[0].fail_dayz: unknown key; did you mean "fail_days"?',
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://exa mple.com", "must not contain spaces or other whitespace"),
        ("https://api.example.com/he alth", "must not contain spaces or other whitespace"),
        ("https://api.example.com:99999", "port 99999 is out of range (1-65535)"),
        ("https://api.example.com:0", "port 0 is out of range (1-65535)"),
        ("https://api.example.com:http", "port 'http' is not a number"),
        ("https://api.example.com:", "has a ':' but no port after it"),
        ("https://", 'has no host, e.g. "https://api.example.com"'),
        ("https://:8443/x", 'has no host, e.g. "https://api.example.com"'),
        ("https://a<b>.example", "'a<b>.example' is not a valid host name"),
        ("api.example.com", "must be an absolute http:// or https:// URL"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"services": [{"name": "a", "url": url}]}, environ={})
    (problem,) = info.value.problems
    assert problem.startswith(f"services[0].url: {message}")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com",
        "http://[::1]:8080/x",
        "https://u:p@h.example:8443",
        "http://bücher.example",
    ],
)
def test_good_urls_load(url: str) -> None:
    parse_config({"services": [{"name": "a", "url": url}]}, environ={})


def test_a_credential_in_a_bad_url_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"services": [{"name": "a", "url": "https://u:s3cr3t@h:99999"}]}, environ={})
    assert "s3cr3t" not in str(info.value)


def test_receiver_and_public_urls_are_checked_too() -> None:
    data = {
        "auditor": {"public_url": "https://auditor.example:70000"},
        "alerting": {
            "receivers": [
                {"name": "c", "type": "webhook", "url": "https://h ooks", "unsigned": True}
            ]
        },
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert info.value.problems == [
        "auditor.public_url: port 70000 is out of range (1-65535)",
        "alerting.receivers[0].url: must not contain spaces or other whitespace "
        "(write a space as %20)",
    ]


@pytest.mark.parametrize(
    "condition", ["[STATUS] === 200", "[STATUS] => 200", "[STATUS] =< 300", "[STATUS] <> 500"]
)
def test_a_condition_with_an_unknown_operator_is_a_load_error(condition: str) -> None:
    data = {
        "services": [
            {
                "name": "a",
                "url": "https://a.example",
                "checks": [{"kind": "health", "conditions": ["[STATUS] == 200", condition]}],
            }
        ]
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    (problem,) = info.value.problems
    assert problem.startswith(
        f"services[0].checks[0].conditions[1]: invalid condition {condition!r}: unknown operator"
    )


def _window(**window: Any) -> dict[str, Any]:
    return {
        "services": [{"name": "payments", "url": "https://p.example"}],
        "alerting": {"maintenance": [{"name": "w", **window}]},
    }


@pytest.mark.parametrize(
    ("window", "problem"),
    [
        (
            {"start": "2026-05-02T00:00:00Z", "end": "2026-05-01T00:00:00Z"},
            "alerting.maintenance[0].end: 2026-05-01T00:00:00Z must be after start "
            "(2026-05-02T00:00:00Z)",
        ),
        (
            {"start": "next tuesday", "end": "2026-05-01T00:00:00Z"},
            "alerting.maintenance[0].start: 'next tuesday' is not a date and time (ISO 8601, "
            'e.g. "2026-05-01T22:00:00Z")',
        ),
        (
            {"start": "2026-02-30T00:00:00Z"},
            "alerting.maintenance[0].start: '2026-02-30T00:00:00Z' is not a date and time "
            '(ISO 8601, e.g. "2026-05-01T22:00:00Z")',
        ),
        (
            {"schedule": "0 3 * * *"},
            "alerting.maintenance[0]: a schedule needs a duration (how long each window lasts)",
        ),
        (
            {"schedule": "0 3 * * 8", "duration": "1h"},
            "alerting.maintenance[0].schedule: is not a valid cron expression",
        ),
        ({}, "alerting.maintenance[0]: a window needs start and end, or schedule and duration"),
        (
            {"services": ["payment"], "start": "2026-05-01T00:00:00Z"},
            "alerting.maintenance[0].services[0]: unknown service 'payment'; did you mean \"payments\"?",
        ),
        (
            {"services": ["billing"], "start": "2026-05-01T00:00:00Z"},
            "alerting.maintenance[0].services[0]: unknown service 'billing' "
            "(services in this file: payments)",
        ),
    ],
)
def test_bad_maintenance_windows_are_refused(window: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_window(**window), environ={})
    assert len(info.value.problems) == 1 and info.value.problems[0].startswith(problem)


def test_a_window_as_a_toml_date_time_loads_and_is_active(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from auditor.alerting.maintenance import Window

    path = tmp_path / "c.toml"
    path.write_text(
        '[[services]]\nname = "payments"\nurl = "https://p.example"\n'
        '[[alerting.maintenance]]\nname = "w"\nservices = ["payments"]\n'
        "start = 2026-05-01T22:00:00Z\nend = 2026-05-01T23:00:00Z\n"
    )
    config = load_config(path, environ={})
    window = Window.from_model(config.alerting.maintenance[0])
    assert window.active("payments", datetime(2026, 5, 1, 22, 30, tzinfo=UTC))
    assert not window.active("payments", datetime(2026, 5, 1, 23, 30, tzinfo=UTC))


def test_lines_are_found_in_every_toml_form() -> None:
    source = """\
[[services]]
name = "a"
"url" = "https://a.example"
[[services.checks]]
kind = "health"
description = \"\"\"
[[services]]
fake = 1
\"\"\"
conditions = [
  "[STATUS] == 200",  # a comment with "quotes" and [brackets]
  '[BODY].ok == true',
]
headers = { Accept = "x", "X-A.b" = "y" }
[[services.checks]]
kind = "tls"
warn.days = 3
[[services]]
name = "b"
checks = [
  { kind = "tls" },
  { kind = "health", intervall = 5 },
]
"""
    loc = Locator(source)
    expect = {
        "services[0]": 1,
        "services[0].url": 3,
        "services[0].checks[0].description": 6,
        "services[0].checks[0].conditions": 10,
        "services[0].checks[0].conditions[1]": 12,
        "services[0].checks[0].headers.X-A": 14,
        "services[0].checks[1]": 15,
        "services[0].checks[1].warn": 17,
        "services[1]": 18,
        "services[1].checks[1]": 22,
        "services[1].checks[1].intervall": 22,
        "services[1].url": 18,  # missing: its table
        "services[0].profile(production).tls": 1,
    }
    assert {path: loc.line_of(parse_path(path)) for path in expect} == expect
    assert loc.line_of(parse_path("nothing.here")) is None


def test_an_environment_override_keeps_no_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[auditor]\nconcurrency = 5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"AUDITOR_CONCURRENCY": "x"})
    assert info.value.problems == [
        "auditor.concurrency (from AUDITOR_CONCURRENCY): must be an integer"
    ]


# -- config check judges the host ------------------------------------------------------------

WARNINGS_ONLY = """\
[auditor]
metrics_token_env = "TEST_UNSET_METRICS_TOKEN"

[[services]]
name = "payments"
url = "https://payments.example.com"

[[services.checks]]
kind = "migrations"
dsn_env = "TEST_UNSET_PAYMENTS_DSN"

[[alerting.receivers]]
name = "chat"
type = "slack"
url_env = "TEST_UNSET_SLACK_URL"
"""


def test_unset_env_variables_are_warnings_and_exit_0(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(WARNINGS_ONLY)
    proc = _check(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok: c.toml: 1 services, 1 checks\n"
    assert proc.stderr.splitlines() == [
        "warning: c.toml:2: auditor.metrics_token_env: environment variable "
        "TEST_UNSET_METRICS_TOKEN is not set; /metrics answers 503 until it is",
        "warning: c.toml:10: services[0].checks[0].dsn_env: environment variable "
        "TEST_UNSET_PAYMENTS_DSN is not set; check payments/migrations reports an error until it is",
        "warning: c.toml:15: alerting.receivers[0].url_env: environment variable "
        "TEST_UNSET_SLACK_URL is not set; receiver 'chat' cannot deliver until it is",
    ]
    env = _env(
        TEST_UNSET_METRICS_TOKEN="t",
        TEST_UNSET_PAYMENTS_DSN="postgresql://ro@127.0.0.1/payments",
        TEST_UNSET_SLACK_URL="https://hooks.example/x",
    )
    proc = _check(tmp_path, env=env)
    assert (proc.returncode, proc.stderr) == (0, "")


@pytest.mark.parametrize(
    ("database_url", "module", "package"),
    [
        ("postgresql+asyncpg://auditor@127.0.0.1/auditor", "asyncpg", "asyncpg"),
        ("mssql://auditor@127.0.0.1/auditor", "pyodbc", "pyodbc"),
        ("mysql+mysqldb://auditor@127.0.0.1/auditor", "MySQLdb", "mysqlclient"),
    ],
)
def test_a_store_dsn_whose_driver_is_missing_is_refused(
    tmp_path: Path, database_url: str, module: str, package: str
) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    (tmp_path / "c.toml").write_text(f'[auditor]\ndatabase_url = "{database_url}"\n')
    proc = _check(tmp_path)
    assert proc.returncode == 2, proc.stderr
    scheme = database_url.split("://")[0]
    assert proc.stderr.splitlines() == [
        "configuration error in c.toml:",
        f"  c.toml:2: auditor.database_url: the driver for {scheme}://, {module}, is not "
        f"installed: pip install '{package}'",
    ]


def test_a_migrations_dsn_whose_driver_is_missing_is_refused(tmp_path: Path) -> None:
    # pymysql made unimportable for the subprocess, as on a host where it is not installed
    shadow = tmp_path / "shadow" / "pymysql"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'pymysql'\", name='pymysql')\n"
    )
    (tmp_path / "c.toml").write_text(
        '[[services]]\nname = "shop"\nurl = "https://shop.example"\n'
        '[[services.checks]]\nkind = "migrations"\ndsn_env = "SHOP_DSN"\n'
        '[[services.checks]]\nkind = "migrations"\nname = "legacy"\ndsn_env = "LEGACY_DSN"\n'
    )
    env = _env(
        PYTHONPATH=f"{tmp_path / 'shadow'}{os.pathsep}{ROOT}",
        SHOP_DSN="mysql+pymysql://ro@127.0.0.1/shop",
        LEGACY_DSN="mssql+pyodbc://ro@127.0.0.1/legacy",
    )
    proc = _check(tmp_path, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "configuration error in c.toml:",
        "  c.toml:6: services[0].checks[0].dsn_env: $SHOP_DSN is a mysql DSN but its driver, "
        "pymysql, cannot be imported (No module named 'pymysql'); install it: "
        "pip install 'PyMySQL'",
        "  c.toml:10: services[0].checks[1].dsn_env: $LEGACY_DSN names an unsupported database "
        "(mssql); use postgresql://, mysql+pymysql:// or sqlite:///",
    ]
    assert "ro@127.0.0.1" not in proc.stderr  # the DSN itself is never printed


def test_the_daemon_logs_the_warnings_at_start(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(
        f'[auditor]\ndatabase_url = "sqlite:///{tmp_path}/a.db"\n' + WARNINGS_ONLY.split("\n", 2)[2]
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor", "worker", "--config", "c.toml"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: seen.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "TEST_UNSET_SLACK_URL" not in "".join(seen):
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)
    text = "".join(seen)
    assert "config_preflight" in text, text
    assert (
        "c.toml:10: services[0].checks[0].dsn_env: environment variable TEST_UNSET_PAYMENTS_DSN"
        in text
    )
    assert "alerting.receivers[0].url_env: environment variable TEST_UNSET_SLACK_URL" in text


def test_every_table_suggests_its_own_keys() -> None:
    data = {
        "web": {"token_tll": "1d"},
        "security": {"api_env_alowlist": []},
        "services": [{"name": "a", "url": "https://a.example", "enviroment": "prod"}],
        "alerting": {
            "receivers": [{"name": "c", "type": "slack", "url_envv": "X"}],
            "maintenance": [{"name": "m", "start": "2026-01-01", "servics": []}],
        },
        "servces": [],
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert info.value.problems == [
        'servces: unknown key; did you mean "services"?',
        'alerting.receivers[0].url_envv: unknown key; did you mean "url_env"?',
        'alerting.maintenance[0].servics: unknown key; did you mean "services"?',
        'web.token_tll: unknown key; did you mean "token_ttl"?',
        'security.api_env_alowlist: unknown key; did you mean "api_env_allowlist"?',
        'services[0].enviroment: unknown key; did you mean "environment"?',
    ]
