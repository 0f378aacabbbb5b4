"""The production profile's "logging and monitoring configured" item: an attestation until the
service declares both machine checks that prove it (``monitoring`` and ``logging``)."""

from __future__ import annotations

from typing import Any

from auditor.config import parse_config

MONITORING = {"kind": "monitoring", "prometheus_url": "http://prom:9090"}
LOGGING = {"kind": "logging", "backend": "loki", "url": "http://loki:3100"}


def names(checks: list[dict[str, Any]]) -> dict[str, str]:
    config = parse_config(
        {"services": [{"name": "a", "url": "https://a.test", "profile": "production",
                       "checks": checks}]},
        environ={},
    )  # fmt: skip
    return {c.name: c.kind for c in config.services[0].checks}


def test_the_item_is_an_attestation_until_machines_prove_it() -> None:
    assert names([])["logging-monitoring"] == "attestation"
    assert "logging-monitoring" in names([MONITORING])  # logging still unproven


def test_declaring_both_kinds_replaces_the_attestation() -> None:
    got = names([MONITORING, LOGGING])
    assert "logging-monitoring" not in got
    assert (got["monitoring"], got["logging"]) == ("monitoring", "logging")
    assert got["load-testing"] == "evidence"  # the other items are untouched
