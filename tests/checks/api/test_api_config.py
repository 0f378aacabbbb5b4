"""Configuring the ``api`` kind: options, trust tiers, the shipped rule set and an operator's copy."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.config import ConfigError, parse_config
from checks.api import RULE_IDS
from checks.api.ruleset import DEFAULT_RULES_FILE, default_ruleset
from checks.tiers import api_tier_problems
from tests.checks.api import apps
from tests.checks.api.support import codes, run_api
from tests.checks.tls.servers import wsgi_server

ROOT = Path(__file__).resolve().parents[3]


def _config(**options: object) -> dict[str, object]:
    check = {"kind": "api", **options}
    return {"services": [{"name": "s", "url": "https://s.example", "checks": [check]}]}


@pytest.fixture(scope="module")
def broken_port() -> Iterator[int]:
    with wsgi_server(apps.broken_live_app()) as port:
        yield port


def test_shipped_rule_set_covers_every_rule_with_a_fix() -> None:
    ruleset = default_ruleset()
    assert tuple(ruleset.rules) == RULE_IDS
    for rule_id, meta in ruleset.rules.items():
        assert re.fullmatch(r"[a-z]+\.[a-z0-9]+(-[a-z0-9]+)*", rule_id)
        assert meta.severity in ("info", "warn", "fail") and meta.fix and meta.anchor


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rules": {"paths.plurals": "off"}}, "services[0].checks[0].rules: unknown rule id(s) paths.plurals; known: paths.plural-nouns"),
        ({"rules": {"paths.no-verbs": "error"}}, "services[0].checks[0].rules.paths.no-verbs: must be one of 'off', 'info', 'warn' or 'fail'"),
        ({"openapi": "openapi.json"}, "services[0].checks[0].openapi: must be a path on the service"),
        ({"max_spec_size": "100MB"}, "services[0].checks[0].max_spec_size: must be at most 25000000"),
        ({"disable": ["paths.no-verbs"]}, "services[0].checks[0].disable: unknown key"),
    ],
)  # fmt: skip
def test_bad_options_name_the_key(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_config(**options), environ={})
    assert any(p.startswith(message) for p in info.value.problems), info.value.problems


def test_config_file_may_use_every_option() -> None:
    config = parse_config(
        _config(spec_file="/srv/openapi.yaml", rules_file="/etc/auditor/api-rules.toml",
                probe_token_env="API_PROBE_TOKEN", rules={"paths.versioned": "off"}),
        environ={},
    )  # fmt: skip
    assert config.services[0].checks[0].kind == "api"


@pytest.mark.parametrize("field", ["spec_file", "rules_file", "probe_token_env", "ca_file"])
def test_api_tier_refuses_host_options(field: str) -> None:
    problems = api_tier_problems("api", {field: "/etc/shadow"}, ["ANY"])
    assert {f for f, _ in problems} == {f"options.{field}"}
    assert "only allowed in the config file" in problems[0][1]


def test_api_tier_accepts_a_url_and_rule_switches() -> None:
    options = {
        "openapi": "/api/v1/openapi.json",
        "rules": {"paths.versioned": "off"},
        "live": False,
    }
    assert api_tier_problems("api", options, []) == []


async def test_operator_rules_file_is_laid_over_the_shipped_one(
    tmp_path: Path, broken_port: int
) -> None:
    rules = tmp_path / "api-rules.toml"
    rules.write_text(
        '[rules."live.error-leak"]\nseverity = "info"\nfix = "ask the platform team"\n'
        '[rules."live.options-methods"]\nseverity = "off"\n'
    )
    result = await run_api(broken_port, rules_file=str(rules))
    leak = next(f for f in result.findings if f.code == "api.live.error-leak")
    assert leak.severity == "info" and leak.message.endswith("Fix: ask the platform team")
    assert "api.live.options-methods" not in codes(result)
    assert str(result.status) == "warn"  # the remaining live findings are warn
    assert result.facts["rules_file"] == str(rules)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[rules."paths.nope"]\nseverity = "warn"\n', "unknown rule id(s) paths.nope"),
        ('[rules."paths.no-verbs"]\nseverity = "loud"\n', "rules.paths.no-verbs.severity"),
        ("[conventions]\nversion_pattern = '(['\n", "conventions.version_pattern"),
        ("[conventions\n", "is not valid TOML"),
    ],
)
async def test_broken_rules_file_is_an_error_naming_the_key(
    tmp_path: Path, broken_port: int, text: str, words: str
) -> None:
    rules = tmp_path / "api-rules.toml"
    rules.write_text(text)
    result = await run_api(broken_port, rules_file=str(rules))
    assert (str(result.status), codes(result)) == ("error", {"api.rules_invalid"})
    assert words in result.summary and str(rules) in result.summary


async def test_missing_rules_file(tmp_path: Path, broken_port: int) -> None:
    result = await run_api(broken_port, rules_file=str(tmp_path / "none.toml"))
    assert codes(result) == {"api.rules_invalid"} and "none.toml" in result.summary


def test_shipped_rules_file_parses_as_documented() -> None:
    data = tomllib.loads(DEFAULT_RULES_FILE.read_text())
    assert data["version"] == 1 and set(data["rules"]) == set(RULE_IDS)


def test_readme_kind_table_lists_every_api_code() -> None:
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `api` |"))
    listed = set(re.findall(r"`(api\.[a-z0-9_.-]+)`", row))
    expected = {f"api.{r}" for r in RULE_IDS} | {
        "api.spec_invalid", "api.spec_unreachable", "api.spec_unreadable", "api.spec_too_large",
        "api.spec_unparseable", "api.ref_refused", "api.ref_loop", "api.rules_invalid",
        "api.live_unreachable", "api.config",
    }  # fmt: skip
    assert listed == expected
