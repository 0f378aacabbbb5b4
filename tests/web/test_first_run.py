"""The first run (issue #23): with no user the login page says how to create the first admin,
and with no service the overview says how to add one; both hints go once that exists."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.store.accounts import create_user
from auditor.store.db import Database
from tests.support import cheap_password_hashing
from tests.web.conftest import PASSWORD, login
from web import create_app

HINT = "auditor user create --username admin --role admin"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    cheap_password_hashing(monkeypatch)
    db = Database(f"sqlite:///{tmp_path / 'first.db'}")
    yield db
    db.close()


def _app(store: Database, **auditor: object) -> Flask:
    config = parse_config({"auditor": dict(auditor)}, environ={})
    return create_app(config, store, test_config={"TESTING": True})


def test_the_login_page_says_how_to_create_the_first_admin_until_one_exists(
    store: Database,
) -> None:
    client = _app(store).test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "No user exists yet" in page and HINT in page
    # the dashboard sends a visitor there
    first = client.get("/")
    assert first.status_code == 302 and "/login" in first.headers["Location"]

    create_user(store, username="alice", role="admin", password=PASSWORD)
    page = client.get("/login").get_data(as_text=True)
    assert "No user exists yet" not in page and "auditor user create" not in page
    assert "Wrong username" not in page


def test_the_empty_overview_says_how_to_add_a_service(store: Database) -> None:
    app = _app(store)
    create_user(store, username="alice", role="operator", password=PASSWORD)
    create_user(store, username="vera", role="viewer", password=PASSWORD)
    operator = app.test_client()
    login(operator, "alice")
    page = operator.get("/").get_data(as_text=True)
    assert "No services yet" in page
    assert '[[services]]\nname = "my-api"\nurl = "https://my-api.example.com"' in page
    assert 'href="/manage/services/new"' in page
    assert "POST /api/v1/services" in page and 'href="/api/docs"' in page
    assert "No services match" not in page

    viewer = app.test_client()
    login(viewer, "vera")
    page = viewer.get("/").get_data(as_text=True)
    assert "No services yet" in page and "[[services]]" in page
    assert 'href="/manage/services/new"' not in page  # a viewer cannot register one

    config = parse_config(
        {"services": [{"name": "payments-api", "url": "https://127.0.0.1:9"}]}, environ={}
    )
    sync_config(store, config)
    page = operator.get("/").get_data(as_text=True)
    assert "payments-api" in page and "No services yet" not in page
    filtered = operator.get("/?q=nothing-matches").get_data(as_text=True)
    assert "No services match" in filtered and "No services yet" not in filtered
