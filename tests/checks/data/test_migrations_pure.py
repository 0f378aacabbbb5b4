"""Pure parts of the migrations check: manifest parsing, comparison, options."""

from __future__ import annotations

import pydantic
import pytest

from checks.migrations import MigrationsOptions
from checks.migrations.evaluate import compare, evaluate
from checks.migrations.manifest import parse_manifest
from checks.migrations.model import as_bool, as_datetime


def test_manifest_text_with_checksums_and_plan_prefixes() -> None:
    exp = parse_manifest("# r1\n[X]  auth.0001_initial\n[ ]  shop.0001 abc123\n\n")
    assert exp.ids == ["auth.0001_initial", "shop.0001"]
    assert exp.checksums == {"shop.0001": "abc123"}


def test_manifest_json_shapes() -> None:
    exp = parse_manifest('{"ids": ["1", {"id": "2", "checksum": "9"}], "heads": "2"}')
    assert exp.ids == ["1", "2"] and exp.heads == ["2"] and exp.checksums == {"2": "9"}
    assert parse_manifest('["a", "b"]').ids == ["a", "b"]
    with pytest.raises(ValueError, match="JSON"):
        parse_manifest("{nope")


def test_compare_cumulative_numeric_pointer() -> None:
    ledger = {"applied": ["20"], "cumulative": True}
    cmp = compare(ledger, {"ids": ["10", "20", "30"]})
    assert cmp["pending"] == ["30"] and cmp["ahead"] == []
    cmp = compare({"applied": ["25"], "cumulative": True}, {"ids": ["10", "20", "30"]})
    assert cmp["pending"] == ["30"] and cmp["ahead"] == ["25"]
    cmp = compare({"applied": ["40"], "cumulative": True}, {"heads": ["30"]})
    assert cmp["ahead"] == ["40"] and not cmp["behind"]


def test_compare_flyway_baseline_covers_earlier() -> None:
    cmp = compare({"applied": ["3", "4"], "baseline": "3"}, {"ids": ["1", "2", "3", "4"]})
    assert cmp["pending"] == []


def test_evaluate_without_expectation_is_pass_with_info() -> None:
    facts = {
        "tool": "django",
        "table_found": True,
        "observed_at": "2026-11-27T00:00:00+00:00",
        "ledger": {"applied": ["a.1"], "applied_count": 1},
    }
    out = evaluate(facts, 600, 900)
    assert out.status == "pass"
    assert [f.code for f in out.findings] == ["migrations.unverified"]


def test_options_contract() -> None:
    opts = MigrationsOptions.model_validate(
        {"dsn_env": "X", "grace": "5m", "lock_max_age": "1h", "schema": "app"}
    )
    assert opts.grace == 300 and opts.lock_max_age == 3600 and opts.db_schema == "app"
    with pytest.raises(pydantic.ValidationError):
        MigrationsOptions.model_validate({"dsn_env": "X", "dsn": "postgresql://u:p@h/db"})
    with pytest.raises(pydantic.ValidationError, match="never put the DSN"):
        MigrationsOptions.model_validate({"dsn_env": "postgresql://u:p@h/db"})
    with pytest.raises(pydantic.ValidationError):
        MigrationsOptions.model_validate({"dsn_env": "X", "tool": "mongo"})


def test_value_coercions() -> None:
    assert as_bool(b"\x01") and not as_bool(b"\x00") and as_bool("t") and not as_bool(0)
    assert as_datetime(1_700_000_000_000) == as_datetime(1_700_000_000)
    assert as_datetime("2026-01-01 10:00:00").tzinfo is not None  # type: ignore[union-attr]
