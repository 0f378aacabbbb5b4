"""Role matrix over every write, token revocation and expiry, secrets encrypted at rest."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from sqlmodel import select

from auditor.store.accounts import create_token
from auditor.store.db import Database
from auditor.store.models import ApiToken, Check, utcnow
from tests.api.conftest import auth, make_check, make_service
from web.api.openapi import OPERATIONS

V1 = "/api/v1"
RANK = {"viewer": 0, "operator": 1, "admin": 2}


def test_role_matrix_every_operation(client: FlaskClient, tokens: dict[str, str]) -> None:
    """Each role × each operation: below the operation's role → 403, at or above → not 401/403."""
    admin = auth(tokens["admin"])
    svc = make_service(client, admin)
    chk = make_check(client, admin, svc["id"])
    ids = {
        "service_id": svc["id"],
        "check_id": chk["id"],
    }
    checked = 0
    for op in OPERATIONS:
        if op.role is None:
            continue
        path = op.path
        for name in ("service_id", "check_id"):
            path = path.replace("{" + name + "}", ids[name])
        path = path.replace("{", "").replace("}", "")
        path = _fill(path)
        for role, token in tokens.items():
            r = client.open(
                V1 + path, method=op.method, json={} if op.body else None, headers=auth(token)
            )
            if RANK[role] < RANK[op.role] or op.scope:  # none of these tokens has a scope
                assert r.status_code == 403, (op.op_id, role, r.status_code)
            else:
                assert r.status_code not in (401, 403), (op.op_id, role, r.status_code, r.json)
            checked += 1
        r = client.open(V1 + path, method=op.method)
        assert r.status_code == 401, op.op_id
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert checked >= 90


def _fill(path: str) -> str:
    # remaining ids (attestation_id, token_id, …) get a well-formed unknown UUID
    parts = []
    for part in path.split("/"):
        parts.append(str(uuid.uuid4()) if part.endswith("_id") else part)
    return "/".join(parts)


def test_invalid_token_401(client: FlaskClient) -> None:
    for header in ("Bearer nope", "Basic abc", "Bearer ", "Bearer " + "x" * 400):
        r = client.get(f"{V1}/services", headers={"Authorization": header})
        assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def test_verify_token_never_writes_and_stamps_last_use_at_most_once_a_minute(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.store.accounts import verify_token
    from auditor.store.lastuse import last_use

    row, plaintext = create_token(store, name="ci", role="viewer")
    writes: list[int] = []
    real_write = store.write

    def counting_write(**kwargs: Any) -> Any:
        writes.append(1)
        return real_write(**kwargs)

    monkeypatch.setattr(store, "write", counting_write)
    recorder = last_use(store)
    recorder.flush()
    now = utcnow()
    for _ in range(5):  # unknown credentials never note anything
        assert verify_token(store, "aud_not-a-token", now) is None
    assert recorder.pending() == 0
    assert verify_token(store, plaintext, now) is not None  # first use: noted, not written
    assert writes == [] and recorder.pending() == 1
    assert recorder.flush() == 1 and len(writes) == 1  # one background transaction
    assert verify_token(store, plaintext, now + timedelta(seconds=30)) is not None
    assert recorder.pending() == 0  # within the minute: nothing to note
    assert verify_token(store, plaintext, now + timedelta(seconds=61)) is not None
    assert recorder.flush() == 1 and len(writes) == 2
    with store.read() as s:
        stored = s.get(ApiToken, row.id)
        assert stored is not None and stored.last_used_at == now + timedelta(seconds=61)


def test_an_api_request_does_not_wait_for_the_write_lock_to_stamp_its_token(
    client: FlaskClient, store: Database, tokens: dict[str, str], tmp_path: Any
) -> None:
    """While another writer (the worker's batch) holds SQLite's write lock, a request whose
    token is due a new ``last_used_at`` answers at once; the stamp is written after."""
    import time

    from auditor.store.lastuse import last_use

    recorder = last_use(store)
    recorder.flush()
    with store.write() as s:  # make the viewer's stamp stale
        for row in s.exec(select(ApiToken)).all():
            row.last_used_at = None
            s.add(row)
    holder = sqlite3.connect(f"{tmp_path}/api.db", timeout=1)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        r = client.get(f"{V1}/services", headers=auth(tokens["viewer"]))
        took = time.monotonic() - started
        assert r.status_code == 200 and took < 1.0, took
        assert recorder.pending() == 1
    finally:
        holder.rollback()
        holder.close()
    assert recorder.flush() == 1
    with store.read() as s:
        stamped = [t.last_used_at for t in s.exec(select(ApiToken)).all()]
    assert sum(at is not None for at in stamped) == 1


def test_token_lifecycle_via_api(client: FlaskClient, store: Database, admin: dict) -> None:
    r = client.post(f"{V1}/tokens", json={"name": "ci", "role": "operator"}, headers=admin)
    assert r.status_code == 201
    secret, tid = r.json["data"]["token"], r.json["data"]["id"]
    listing = client.get(f"{V1}/tokens", headers=admin).json["data"]
    assert all("token" not in t and "token_hash" not in t for t in listing)
    assert client.get(f"{V1}/services", headers=auth(secret)).status_code == 200
    from auditor.store.lastuse import last_use

    last_use(store).flush()  # the stamp is written in the background
    with store.read() as s:
        row = s.get(ApiToken, tid)
        assert row is not None and row.last_used_at is not None
        assert secret not in row.token_hash
    assert client.delete(f"{V1}/tokens/{tid}", headers=admin).json["data"]["revoked_at"]
    assert client.get(f"{V1}/services", headers=auth(secret)).status_code == 401
    r = client.post(
        f"{V1}/tokens",
        json={"name": "old", "role": "viewer", "expires_at": "2001-01-01T00:00:00Z"},
        headers=admin,
    )
    assert r.status_code == 422


def test_expired_token_401(client: FlaskClient, store: Database) -> None:
    _, secret = create_token(
        store, name="t", role="admin", expires_at=utcnow() + timedelta(seconds=60)
    )
    assert client.get(f"{V1}/services", headers=auth(secret)).status_code == 200
    with store.write() as s:
        for row in s.exec(select(ApiToken)).all():
            row.expires_at = utcnow() - timedelta(seconds=1)
            s.add(row)
    assert client.get(f"{V1}/services", headers=auth(secret)).status_code == 401


def test_users(client: FlaskClient, admin: dict, operator: dict) -> None:
    body = {"username": "alice", "role": "viewer", "password": "correct horse battery"}
    r = client.post(f"{V1}/users", json=body, headers=admin)
    assert r.status_code == 201 and "password" not in r.json["data"]
    assert client.post(f"{V1}/users", json=body, headers=admin).status_code == 409
    assert (
        client.post(
            f"{V1}/users", json={**body, "username": "bob", "password": "short"}, headers=admin
        ).status_code
        == 422
    )
    assert client.post(f"{V1}/users", json=body, headers=operator).status_code == 403
    uid = r.json["data"]["id"]
    assert (
        client.patch(f"{V1}/users/{uid}", json={"role": "operator"}, headers=admin).json["data"][
            "role"
        ]
        == "operator"
    )
    assert client.delete(f"{V1}/users/{uid}", headers=admin).status_code == 200
    assert client.get(f"{V1}/users/{uid}", headers=admin).status_code == 404


SECRET_HEADER = "Bearer s3cr3t-upstream-token-value"


def _raw_dump(store: Database) -> str:
    path = store.url.split("///", 1)[1]
    con = sqlite3.connect(path)
    try:
        return "\n".join(
            repr(row) for table in ("check_def",) for row in con.execute(f"SELECT * FROM {table}")
        )
    finally:
        con.close()


def test_secrets_encrypted_at_rest_and_redacted(
    client: FlaskClient, store: Database, operator: dict, secret_key: str
) -> None:
    svc = make_service(client, operator)
    chk = make_check(
        client,
        operator,
        svc["id"],
        options={"headers": {"Authorization": SECRET_HEADER, "Accept": "application/json"}},
    )
    assert chk["options"]["headers"] == {"Accept": "application/json", "Authorization": "********"}
    assert chk["secret_fields"] == ["headers.Authorization"]
    raw = _raw_dump(store)
    assert "s3cr3t-upstream-token-value" not in raw
    with store.read() as s:
        row = s.get(Check, chk["id"])
        assert row is not None and row.secret_options
        from auditor.store.secrets import reveal_options

        assert (
            reveal_options(row.options, row.secret_options)["headers"]["Authorization"]
            == SECRET_HEADER
        )
    # sending the redacted value back keeps the stored secret
    base = f"{V1}/services/{svc['id']}/checks/{chk['id']}"
    r = client.patch(base, json={"options": chk["options"], "severity": "low"}, headers=operator)
    assert r.status_code == 200, r.json
    with store.read() as s:
        row = s.get(Check, chk["id"])
        assert row is not None
        assert (
            reveal_options(row.options, row.secret_options)["headers"]["Authorization"]
            == SECRET_HEADER
        )
    for resp in (
        client.get(base, headers=operator),
        client.get(f"{V1}/services/{svc['id']}/checks", headers=operator),
    ):
        assert "s3cr3t" not in resp.get_data(as_text=True)


def test_secret_needs_key(
    client: FlaskClient, operator: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDITOR_SECRET_KEY")
    svc = make_service(client, operator)
    r = client.post(
        f"{V1}/services/{svc['id']}/checks",
        json={"kind": "health", "options": {"headers": {"Authorization": SECRET_HEADER}}},
        headers=operator,
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "secret_key_missing"


def test_secrets_rotate_cli(
    client: FlaskClient,
    store: Database,
    operator: dict,
    secret_key: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    from auditor.cli import main
    from auditor.store import secrets as vault

    svc = make_service(client, operator)
    chk = make_check(
        client, operator, svc["id"], options={"headers": {"Authorization": SECRET_HEADER}}
    )
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("AUDITOR_SECRET_KEY", f"{new_key},{secret_key}")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[auditor]\ndatabase_url = "{store.url}"\n')
    result = CliRunner().invoke(main, ["secrets", "rotate", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "1 check secret" in result.output
    with store.read() as s:
        row = s.get(Check, chk["id"])
        assert row is not None and row.secret_options
    only_new = {"AUDITOR_SECRET_KEY": new_key}
    assert (
        vault.decrypt_json(row.secret_options, only_new)["headers"]["Authorization"]
        == SECRET_HEADER
    )
    with pytest.raises(vault.SecretUndecryptable):
        vault.decrypt_json(row.secret_options, {"AUDITOR_SECRET_KEY": secret_key})


@pytest.mark.parametrize(
    ("options", "secret"),
    [
        ({"dsn": "postgresql://u:p@h/db"}, ["dsn"]),
        ({"webhook_url": "https://hooks.example/x?token=abc"}, ["webhook_url"]),
        ({"api_secret": "x", "dsn_env": "DSN"}, ["api_secret"]),
        (
            {"path": "/health", "headers": {"X-Api-Key": "k", "Accept": "*/*"}},
            ["headers.X-Api-Key"],
        ),
        ({"url": "https://example.com/health"}, []),
    ],
)
def test_split_options(options: dict[str, Any], secret: list[str]) -> None:
    from auditor.store.secrets import merge_options, secret_paths, split_options

    plain, hidden = split_options(options)
    assert secret_paths(hidden) == secret
    assert merge_options(plain, hidden) == options


def test_closing_the_store_writes_pending_stamps_and_stops_the_flusher(
    client: FlaskClient, store: Database, tokens: dict[str, str]
) -> None:
    """A closed store's flusher neither loses its pending stamps nor keeps retrying writes
    (it used to log a failure every 2 s forever once the database was gone)."""
    from auditor.store.lastuse import last_use

    recorder = last_use(store)
    recorder.flush()
    with store.write() as s:
        for row in s.exec(select(ApiToken)).all():
            row.last_used_at = None
            s.add(row)
    assert client.get(f"{V1}/services", headers=auth(tokens["viewer"])).status_code == 200
    assert recorder.pending() == 1
    flusher = recorder._thread
    store.close()
    assert recorder.pending() == 0
    assert flusher is not None
    flusher.join(timeout=5)
    assert not flusher.is_alive()
    with store.read() as s:
        assert sum(t.last_used_at is not None for t in s.exec(select(ApiToken)).all()) == 1
