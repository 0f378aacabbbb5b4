"""Discovered services in the API and the dashboard: where they came from, read-only except
for waivers and attestations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.store.accounts import create_token
from auditor.store.db import Database
from tests.discovery.conftest import Driver, write_targets
from web import create_app


@pytest.fixture
def world(tmp_path: Path, store: Database, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    targets = tmp_path / "web.json"
    targets.write_text(json.dumps([{"targets": ["10.0.0.1:80"], "labels": {"job": "web-api"}}]))
    config = parse_config(
        {
            "services": [{"name": "payments", "url": "https://payments.example.com"}],
            "discovery": [{"type": "file_sd", "path": str(targets), "profile": "production"}],
        },
        environ={},
    )
    sync_config(store, config)
    d = Driver(config, store)
    d.tick()
    d.close()
    app = create_app(config, store, test_config={"TESTING": True, "API_RATE_LIMIT": 100_000})
    token = create_token(store, name="op", role="operator")[1]
    return app.test_client(), {"Authorization": f"Bearer {token}"}, str(targets)


def _by_name(client: FlaskClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    body = client.get(f"/api/v1/services{query}", headers=headers).get_json()
    return {s["name"]: s for s in body["data"]}


def test_the_api_says_where_a_service_came_from(world: Any) -> None:
    client, headers, path = world
    services = _by_name(client, headers)
    assert services["payments"]["source"] == "config"
    assert services["web-api"]["source"] == {"type": "file_sd", "path": path, "url": None}
    assert set(_by_name(client, headers, "?source=file_sd")) == {"web-api"}
    one = client.get(f"/api/v1/services/{services['web-api']['id']}", headers=headers)
    assert one.get_json()["data"]["source"]["type"] == "file_sd"


def test_an_archived_service_is_listed_with_include_deleted(world: Any, store: Database) -> None:
    client, headers, path = world
    write_targets(Path(path), [])
    config = parse_config({"discovery": [{"type": "file_sd", "path": path}]}, environ={})
    d = Driver(config, store)
    d.tick()
    d.close()
    assert "web-api" not in _by_name(client, headers)
    archived = _by_name(client, headers, "?include_deleted=true")["web-api"]
    assert archived["deleted_at"] is not None and archived["enabled"] is False
    assert archived["source"] == {"type": "file_sd", "path": path, "url": None}


def test_discovered_services_are_read_only_except_waivers_and_attestations(world: Any) -> None:
    client, headers, path = world
    sid = _by_name(client, headers)["web-api"]["id"]
    checks = client.get(f"/api/v1/services/{sid}/checks", headers=headers).get_json()["data"]
    tls = next(c for c in checks if c["name"] == "tls")
    assert tls["source"] == "file_sd"
    refused = [
        client.patch(f"/api/v1/services/{sid}", json={"owner": "me"}, headers=headers),
        client.delete(f"/api/v1/services/{sid}", headers=headers),
        client.post(f"/api/v1/services/{sid}/checks", json={"kind": "health"}, headers=headers),
        client.patch(
            f"/api/v1/services/{sid}/checks/{tls['id']}",
            json={"severity": "low"},
            headers=headers,
        ),
        client.delete(f"/api/v1/services/{sid}/checks/{tls['id']}", headers=headers),
    ]
    for answer in refused:
        assert answer.status_code == 409, answer.get_json()
        assert answer.get_json()["error"]["code"] == "managed_by_discovery"
    assert path in refused[0].get_json()["error"]["message"]

    later = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    waiver = client.post(
        "/api/v1/waivers",
        json={"check_id": tls["id"], "reason": "cert rotation on Monday", "expires_at": later},
        headers=headers,
    )
    assert waiver.status_code == 201, waiver.get_json()
    attestation = client.post(
        "/api/v1/attestations",
        json={"service_id": sid, "item": "load testing completed", "expires_at": later},
        headers=headers,
    )
    assert attestation.status_code == 201, attestation.get_json()


def test_the_service_page_shows_the_source_and_refuses_edits(
    world: Any, store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.store.accounts import create_user
    from tests.support import cheap_password_hashing
    from tests.web.conftest import csrf_of, login

    cheap_password_hashing(monkeypatch)
    client, _headers, path = world
    create_user(store, username="op", role="operator", password="correct horse battery")
    assert login(client, "op", "correct horse battery").status_code == 302
    html = client.get("/services/web-api").get_data(as_text=True)
    assert 'data-source="file_sd"' in html and path in html
    assert "Edit service" not in html and "Add check" not in html
    assert "Sign attestation" in html and "Waive…" in html  # still allowed
    assert "/edit" not in html  # no edit link for the service or any of its checks
    edit = client.get("/manage/services/web-api/edit")
    assert edit.status_code == 409 and "discovered" in edit.get_data(as_text=True)
    token = csrf_of(client.get("/manage/services/web-api/attest").get_data(as_text=True))
    signed = client.post(
        "/manage/services/web-api/attest",
        data={
            "item": "load testing completed",
            "comment": "k6 run 2026-12-01",
            "valid_days": "30",
            "csrf_token": token,
        },
    )
    assert signed.status_code in (302, 303), signed.get_data(as_text=True)[:500]
    # the config-file service keeps its (read-only) settings button
    assert "Settings (config file)" in client.get("/services/payments").get_data(as_text=True)
