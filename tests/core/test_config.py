from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auditor.config import ConfigError, load_config, parse_config


def _svc(**checks: Any) -> dict[str, Any]:
    return {"services": [{"name": "api", "url": "https://api.example.com", "checks": [checks]}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {
                "services": [
                    {"name": "a", "url": "https://a.example"},
                    {
                        "name": "b",
                        "url": "https://b",
                        "checks": [{"kind": "health", "interval": "-5m"}],
                    },
                ]
            },
            "services[1].checks[0].interval: expected a duration",
            id="negative-interval",
        ),
        pytest.param(
            _svc(kind="health", failure_threshold=0),
            "services[0].checks[0].failure_threshold: must be a positive integer",
            id="zero-threshold",
        ),
        pytest.param(
            _svc(kind="health", failure_threshold="x"),
            "services[0].checks[0].failure_threshold: must be an integer",
            id="threshold-not-int",
        ),
        pytest.param(
            _svc(kind="nope"),
            "services[0].checks[0].kind: unknown check kind 'nope'",
            id="unknown-kind",
        ),
        pytest.param(
            _svc(kind="health", colour="red"),
            "services[0].checks[0].colour: unknown key",
            id="unknown-option",
        ),
        pytest.param(
            _svc(kind="health", level="platinum"),
            "services[0].checks[0].level: must be one of 'bronze', 'silver' or 'gold'",
            id="bad-level",
        ),
        pytest.param(
            _svc(kind="health", schedule="61 * * * *"),
            "services[0].checks[0].schedule: is not a valid cron expression",
            id="bad-cron",
        ),
        pytest.param(
            _svc(kind="health", timeout="10m", interval="1m"),
            "services[0].checks[0].timeout: must not exceed the interval (60s)",
            id="timeout-over-interval",
        ),
        pytest.param(
            {"services": [{"name": "Bad Name", "url": "https://x"}]},
            "services[0].name: must be a lowercase slug",
            id="bad-slug",
        ),
        pytest.param(
            {"services": [{"name": "a", "url": "ftp://x"}]},
            "services[0].url: must be an absolute http:// or https:// URL",
            id="bad-url",
        ),
        pytest.param({"services": [{"name": "a", "url": "https://x"}]}, None, id="ok-no-checks"),
        pytest.param(
            {"services": [{"name": "a", "url": "https://x"}, {"name": "a", "url": "https://y"}]},
            "services[1].name: duplicate service name 'a' (also services[0])",
            id="duplicate-service",
        ),
        pytest.param(
            {"auditor": {"concurrency": 0}},
            "auditor.concurrency: must be a positive integer",
            id="zero-concurrency",
        ),
        pytest.param(
            {"auditor": {"listen": "8080"}}, 'auditor.listen: must be "host:port"', id="bad-listen"
        ),
        pytest.param(
            {"auditor": {"web_processes": -1}},
            "auditor.web_processes: must be",
            id="negative-web-processes",
        ),
        pytest.param(
            {"auditor": {"colour": 1}}, "auditor.colour: unknown key", id="unknown-auditor-key"
        ),
        pytest.param(
            {"auditor": {"deny_cidrs": ["10.0.0.0/33"]}},
            "auditor.deny_cidrs: '10.0.0.0/33' is not a CIDR range",
            id="bad-cidr",
        ),
        pytest.param({"servics": []}, "servics: unknown key", id="unknown-top-level"),
        pytest.param(
            _svc(kind="health", conditions=["[STATUS] 200"]),
            "services[0].checks[0].conditions",
            id="bad-condition",
        ),
        pytest.param(
            {
                "services": [
                    {
                        "name": "a",
                        "url": "https://x",
                        "checks": [{"kind": "health"}, {"kind": "health"}],
                    }
                ]
            },
            "services[0].checks[1].name: duplicate check name 'health'",
            id="duplicate-check",
        ),
        pytest.param(
            {"alerting": {"receivers": [{"name": "x", "type": "pager"}]}},
            "alerting.receivers[0].type: must be one of",
            id="bad-receiver-type",
        ),
    ],
)
def test_config_errors_name_the_key_path(data: dict[str, Any], message: str | None) -> None:
    if message is None:
        parse_config(data, environ={})
        return
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert any(p.startswith(message) for p in info.value.problems), info.value.problems


def test_it_reports_every_problem_at_once() -> None:
    data = {
        "auditor": {"concurrency": -1},
        "services": [
            {
                "name": "api",
                "url": "https://x",
                "checks": [{"kind": "health", "bogus": 1}, {"kind": "nope"}],
            }
        ],
    }
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ={})
    assert len(info.value.problems) == 3


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("2d", 172800), (45, 45), ("90", 90), ("1h30m", 5400)],
)
def test_duration_forms(value: object, seconds: float) -> None:
    config = parse_config(_svc(kind="health", interval=value, timeout=1), environ={})
    assert config.services[0].checks[0].interval == seconds


def test_env_overrides_every_auditor_key() -> None:
    env = {
        "AUDITOR_DATABASE_URL": "postgresql+psycopg://u@h/db",
        "AUDITOR_CONCURRENCY": "7",
        "AUDITOR_ALLOW_PRIVATE_NETWORKS": "false",
        "AUDITOR_DEFAULT_INTERVAL": "2m",
        "AUDITOR_DENY_CIDRS": "10.0.0.0/8, 192.168.0.0/16",
        "AUDITOR_WEB_PROCESSES": "4",
    }
    config = parse_config({"auditor": {"concurrency": 50}}, environ=env)
    assert config.auditor.database_url == "postgresql+psycopg://u@h/db"
    assert config.auditor.concurrency == 7
    assert config.auditor.allow_private_networks is False
    assert config.auditor.default_interval == 120
    assert config.auditor.deny_cidrs == ["10.0.0.0/8", "192.168.0.0/16"]
    assert config.auditor.web_processes == 4


def test_bad_env_override_names_the_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({}, environ={"AUDITOR_CONCURRENCY": "many"})
    assert info.value.problems == [
        "auditor.concurrency (from AUDITOR_CONCURRENCY): must be an integer"
    ]


def test_defaults_apply_to_checks() -> None:
    config = parse_config(
        {"auditor": {"default_interval": "1m", "default_timeout": "5s"}, **_svc(kind="health")},
        environ={},
    )
    check = config.services[0].checks[0]
    assert (check.name, check.interval, check.timeout) == ("health", 60, 5)
    assert check.common.failure_threshold == 2 and check.common.success_threshold == 1


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "absent.toml", environ={})


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[auditor\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})


def test_config_check_command_exits_2_and_lists_problems(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[[services]]\nname = "api"\nurl = "https://x"\n[[services.checks]]\nkind = "health"\nfailure_threshold = 0\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "services[0].checks[0].failure_threshold: must be a positive integer" in proc.stderr
    path.write_text(
        '[[services]]\nname = "api"\nurl = "https://x"\n[[services.checks]]\nkind = "health"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 services, 1 checks" in proc.stdout


def test_example_config_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    environ = {"OPS_WEBHOOK_SECRET": "k", "CHAT_APPRISE_URL": "ntfy://ntfy.internal/deploys"}
    config = load_config(root / "config.example.toml", environ=environ)
    assert config.services
    with pytest.raises(ConfigError) as info:  # its webhook is signed: no secret, no start
        load_config(root / "config.example.toml", environ={})
    file, line, problem = info.value.problems[0].split(":", 2)
    assert (file, line.isdigit()) == (str(root / "config.example.toml"), True)
    assert problem.startswith(" alerting.receivers[0].secret_env: ")


def test_cron_checks_take_their_interval_from_the_schedule() -> None:
    config = parse_config(_svc(kind="health", schedule="0 3 * * *", timeout="30s"), environ={})
    assert config.services[0].checks[0].interval == 86400


def test_interval_and_schedule_together_are_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_svc(kind="health", schedule="0 3 * * *", interval="5m"), environ={})
    assert info.value.problems == [
        "services[0].checks[0].schedule: set either interval or schedule, not both"
    ]


def test_profile_checks_follow_a_short_default_interval() -> None:
    """Profile checks set no timeout, so a 5s default interval caps them at 5s (Prometheus's
    scrape_timeout rule) instead of failing on the 10s default timeout."""
    data = {
        "auditor": {"default_interval": "5s"},
        "services": [{"name": "a", "url": "https://x", "profile": "production"}],
    }
    config = parse_config(data, environ={})
    assert {(c.name, c.timeout) for c in config.services[0].checks if c.kind == "tls"} == {
        ("tls", 5.0)
    }
