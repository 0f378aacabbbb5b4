"""The ``schema`` kind's options, trust tier and pure evaluation: bad input names its field,
the kind is config-file only, and the rules grade, waive and cap findings as documented."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from auditor.config import ConfigError, parse_config
from checks.base import RunStatus
from checks.schema import SchemaCheck
from checks.schema.evaluate import MAX_PER_RULE
from checks.schema.model import Catalog, Column, Connections, Index, SlowQueries, SlowQuery, Table
from checks.tiers import CONFIG_ONLY_HINT, api_tier_problems


def _config(**check: Any) -> Any:
    return parse_config(
        {
            "services": [
                {
                    "name": "payments",
                    "url": "https://payments.example",
                    "checks": [{"kind": "schema", "dsn_env": "PAYMENTS_RO_DSN", **check}],
                }
            ]
        },
        environ={},
    )


def test_config_file_takes_the_kind_with_rules_and_allow_list() -> None:
    config = _config(
        rules={"schema.key_type": "off", "float_money": "warn"},
        tables={"legacy_*": ["no_primary_key"], "audit_log": ["*"]},
        slow_query_ms=250,
    )
    options = config.services[0].checks[0].options
    assert options.rules == {"key_type": "off", "float_money": "warn"}
    assert options.tables == {"legacy_*": ["no_primary_key"], "audit_log": ["*"]}
    assert options.slow_query_ms == 250


@pytest.mark.parametrize(
    ("check", "field", "words"),
    [
        ({"rules": {"no_such_rule": "off"}}, "rules", "unknown rule 'no_such_rule'"),
        ({"rules": {"key_type": "loud"}}, "rules", "off"),
        ({"tables": {"legacy": ["primary_key"]}}, "tables", "unknown rule 'primary_key'"),
        ({"dsn_env": "postgresql://u:pw@db/app"}, "dsn_env", "never put the DSN"),
        ({"connection_threshold": 1.5}, "connection_threshold", ""),
        ({"surprise": 1}, "surprise", ""),
    ],
)
def test_bad_options_name_the_field(check: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _config(**check)
    text = str(info.value)
    assert "services[0].checks[0]" in text and field in text, text
    assert words in text
    assert "pw@" not in text


def test_the_kind_is_config_file_only() -> None:
    """Even an allow-listed variable: a DSN names a host the daemon would connect to."""
    problems = api_tier_problems("schema", {"dsn_env": "PAYMENTS_RO_DSN"}, ["PAYMENTS_RO_DSN"])
    assert [field for field, _ in problems] == ["options.dsn_env"]
    assert CONFIG_ONLY_HINT in problems[0][1]


@pytest.fixture
def api(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, dict[str, str]]]:
    from auditor.store.accounts import create_token
    from auditor.store.db import Database
    from auditor.store.lastuse import flush_pending
    from web import create_app

    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    store = Database(f"sqlite:///{tmp_path}/auditor.db")
    config = parse_config(
        {"auditor": {"default_timeout": "2s"}, "security": {"api_env_allowlist": ["RO_DSN"]}},
        environ={},
    )
    app = create_app(config, store, test_config={"TESTING": True, "API_RATE_LIMIT": 100_000})
    token = create_token(store, name="op", role="operator")[1]
    yield app, {"Authorization": f"Bearer {token}"}
    flush_pending(store)
    store.close()


def test_the_rest_api_refuses_a_schema_check(api: tuple[Any, dict[str, str]]) -> None:
    app, auth = api
    client = app.test_client()
    made = client.post(
        "/api/v1/services", json={"name": "payments", "url": "http://127.0.0.1:9"}, headers=auth
    )
    sid = made.json["data"]["id"]
    body = {"kind": "schema", "options": {"dsn_env": "RO_DSN"}, "interval": "1m"}
    r = client.post(f"/api/v1/services/{sid}/checks", json=body, headers=auth)
    assert r.status_code == 422, r.json
    fields = {d["field"]: d["message"] for d in r.json["error"]["details"]}
    assert "only allowed in the config file" in fields["options.dsn_env"]


# -- pure evaluation over hand-made facts ------------------------------------------------------


def _evaluate(catalog: Catalog, **options: Any) -> Any:
    check = SchemaCheck()
    opts = check.Options.model_validate({"dsn_env": "X", **options})
    return check.evaluate(catalog.to_facts(), opts)


def _table(name: str, **kw: Any) -> Table:
    cols = [
        Column("id", "uuid"),
        Column("created_at", "timestamp with time zone"),
        Column("updated_at", "timestamp with time zone"),
    ]
    return Table(name, "public", columns=cols + kw.pop("extra", []), primary_key=["id"], **kw)


def test_findings_per_rule_are_capped_and_counted() -> None:
    tables = [Table(f"t{i:03}", columns=[Column("x", "text")]) for i in range(MAX_PER_RULE + 7)]
    outcome = _evaluate(Catalog("postgresql", tables=tables), rules={"missing_timestamps": "off"})
    codes = [f.code for f in outcome.findings]
    assert codes.count("schema.no_primary_key") == MAX_PER_RULE + 1
    assert outcome.findings[-1].message == "… and 7 more schema.no_primary_key"
    assert outcome.facts["rule_hits"] == {"no_primary_key": MAX_PER_RULE + 7}


def test_unused_index_waits_for_old_enough_statistics() -> None:
    table = _table("pages", indexes=[Index("pages_slug", ["slug"], scans=0)])
    young = Catalog(
        "postgresql",
        tables=[table],
        observed_at="2026-12-04T00:00:00+00:00",
        stats_since="2026-12-01T00:00:00+00:00",
    )
    assert _evaluate(young).findings == ()
    old = Catalog(**{**young.__dict__, "stats_since": "2026-10-01T00:00:00+00:00"})
    found = _evaluate(old).findings
    assert [f.message for f in found] == [
        "pages: index pages_slug has not been scanned since 2026-10-01 (statistics 64 days "
        "old); fix: drop it if no query needs it (check every replica first)"
    ]
    assert found[0].severity == "info"
    unknown = Catalog(**{**old.__dict__, "stats_since": None})
    assert _evaluate(unknown, unused_index_min_age=0).findings == ()


def test_allow_list_matches_table_or_column_patterns() -> None:
    money = Column("unit_price", "double precision")
    catalog = Catalog(
        "postgresql",
        tables=[_table("legacy_orders", extra=[money]), _table("orders", extra=[money])],
    )
    outcome = _evaluate(catalog, tables={"legacy_*": ["float_money"]})
    assert [f.message.split(":")[0] for f in outcome.findings] == ["orders.unit_price"]
    assert outcome.status is RunStatus.FAIL
    assert _evaluate(catalog, tables={"*.unit_price": ["schema.float_money"]}).findings == ()


def test_server_rules_grade_connections_and_slow_queries() -> None:
    slow = SlowQueries(
        True, None, [SlowQuery("SELECT * FROM orders WHERE id = $1", 42, 812.4, 2100)]
    )
    catalog = Catalog("postgresql", connections=Connections(85, 100), slow=slow)
    outcome = _evaluate(catalog)
    messages = sorted(f.message for f in outcome.findings)
    assert messages[0].startswith(
        "query: mean 812 ms, max 2100 ms over 42 calls (threshold 500 ms)"
    )
    assert messages[1].startswith("server: 85 of max_connections 100 in use (85%, warn at 80%)")
    assert outcome.status is RunStatus.WARN
    calm = Catalog("postgresql", connections=Connections(79, 100), slow=slow)
    assert _evaluate(calm, slow_query_ms=1000).findings == ()
