"""A discovery pass that changes the store is in the audit log, like a config sync: the
sources are the actor, the diff names the services and checks added, updated and archived;
a pass that changes nothing writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.store.db import Database
from tests.discovery.conftest import write_targets
from tests.support import audit_events


def test_discovery_changes_are_audited_and_a_quiet_pass_is_not(
    tmp_path: Path, driver: Any, store: Database
) -> None:
    targets = tmp_path / "targets"
    targets.mkdir()
    web = targets / "web.json"
    write_targets(
        web,
        [
            {"targets": ["10.0.0.1:8443"], "labels": {"job": "web-api"}},
            {"targets": ["10.0.0.2:8443"], "labels": {"job": "old-api"}},
        ],
    )
    d = driver(
        {
            "type": "file_sd",
            "path": [f"{targets}/*.json"],
            "refresh": "1s",
            "checks": [{"kind": "health", "path": "/health"}],
        }
    )
    d.tick()
    d.tick()  # the same file again: no change, no event
    write_targets(web, [{"targets": ["10.0.0.1:9443"], "labels": {"job": "web-api"}}])
    d.tick()

    events = audit_events(store, "discovery.sync")
    source = f"file_sd {web}"
    assert [(e["actor_kind"], e["actor_name"], e["target_type"]) for e in events] == [
        ("discovery", source, "discovery")
    ] * 2
    first, second = (e["changes"] for e in events)
    assert first == {
        "services_added": [None, ["old-api", "web-api"]],
        "checks_added": [None, ["old-api/health", "web-api/health"]],
    }
    assert second == {
        "services_updated": [None, ["web-api"]],
        "services_archived": [None, ["old-api"]],
    }


def test_an_endpoint_credential_never_reaches_the_audit_log(store: Database) -> None:
    from auditor.config import parse_config
    from auditor.discovery import SourceRead, sync_discovered

    secret = "s3cr3t-token-value"
    service = parse_config(
        {"services": [{"name": "api", "url": "https://10.0.0.9", "checks": [{"kind": "health"}]}]},
        environ={},
    ).services[0]
    ref = f"https://sd:{secret}@sd.example/targets?token={secret}"
    sync_discovered(store, [SourceRead("http_sd", ref, [service])])
    (event,) = audit_events(store, "discovery.sync")
    assert event["changes"]["services_added"] == [None, ["api"]]
    assert secret not in json.dumps(event) and "sd.example/targets" in event["actor_name"]
