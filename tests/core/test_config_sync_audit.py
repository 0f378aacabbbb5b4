"""A config sync that changes the store is in the audit log: who (the file), what (which
services and checks were added, updated, disabled), in the sync's own transaction."""

from __future__ import annotations

from pathlib import Path

from auditor.config import load_config
from auditor.config.sync import sync_config
from auditor.store.db import Database
from tests.support import audit_events

FIRST = """
[[services]]
name = "shop"
url = "https://shop.example"
[[services.checks]]
kind = "health"
[[services.checks]]
kind = "tls"

[[services]]
name = "blog"
url = "https://blog.example"
[[services.checks]]
kind = "health"
"""

SECOND = """
[[services]]
name = "shop"
url = "https://shop.example"
[[services.checks]]
kind = "health"
path = "/healthz"
"""


def test_a_changing_sync_is_audited_and_a_no_op_is_not(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "auditor.toml"
    config.write_text(FIRST)
    store = Database(db_url)
    try:
        sync_config(store, load_config(config))
        sync_config(store, load_config(config))  # nothing changed: no event
        config.write_text(SECOND)
        sync_config(store, load_config(config))
        events = audit_events(store, "config.sync")
    finally:
        store.close()
    assert [(e["actor_kind"], e["actor_name"], e["target_type"]) for e in events] == [
        ("config", str(config), "config")
    ] * 2
    first, second = (e["changes"] for e in events)
    assert first == {
        "services_added": [None, ["blog", "shop"]],
        "checks_added": [None, ["blog/health", "shop/health", "shop/tls"]],
    }
    assert second == {
        "checks_updated": [None, ["shop/health"]],
        "checks_disabled": [None, ["blog/health", "shop/tls"]],
        "services_disabled": [None, ["blog"]],
    }
