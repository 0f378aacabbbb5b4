"""Fixtures: an app over a temporary SQLite store, and one token per role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from auditor.config import parse_config
from auditor.store.accounts import create_token
from auditor.store.db import Database
from web import create_app

SECRET_KEY = Fernet.generate_key().decode()


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AUDITOR_SECRET_KEY", SECRET_KEY)
    return SECRET_KEY


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Database]:
    st = Database(f"sqlite:///{tmp_path}/api.db")
    yield st
    st.close()


@pytest.fixture
def app(store: Database, secret_key: str) -> Flask:
    config = parse_config({"auditor": {"default_timeout": "2s"}}, environ={})
    app = create_app(config, store, test_config={"TESTING": True, "API_RATE_LIMIT": 100_000})
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def tokens(store: Database) -> dict[str, str]:
    return {
        role: create_token(store, name=role, role=role)[1]
        for role in ("viewer", "operator", "admin")
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(tokens: dict[str, str]) -> dict[str, str]:
    return auth(tokens["admin"])


@pytest.fixture
def operator(tokens: dict[str, str]) -> dict[str, str]:
    return auth(tokens["operator"])


@pytest.fixture
def viewer(tokens: dict[str, str]) -> dict[str, str]:
    return auth(tokens["viewer"])


def make_service(client: FlaskClient, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = {"name": "svc", "url": "https://svc.example.com", **kw}
    r = client.post("/api/v1/services", json=body, headers=headers)
    assert r.status_code == 201, r.json
    return r.json["data"]  # type: ignore[index,no-any-return]


def make_check(
    client: FlaskClient, headers: dict[str, str], service_id: str, **kw: Any
) -> dict[str, Any]:
    body = {"kind": "health", **kw}
    r = client.post(f"/api/v1/services/{service_id}/checks", json=body, headers=headers)
    assert r.status_code == 201, r.json
    return r.json["data"]  # type: ignore[index,no-any-return]
