"""Per-endpoint tests: happy paths, every error status, pagination, sort/filter, idempotency,
request ids, the error envelope for unrouted paths and crashes, rate limiting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auditor.config.sync import sync_config
from auditor.store.db import Database
from auditor.store.models import AlertDelivery, Run, Transition, utcnow
from tests.api.conftest import make_check, make_service

V1 = "/api/v1"
UNKNOWN = str(uuid.uuid4())


def assert_error(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.json)
    body = r.json
    assert body["success"] is False
    assert set(body) == {"success", "error", "meta"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["meta"]["request_id"] == r.headers["X-Request-ID"]
    if code:
        assert body["error"]["code"] == code
    assert "Traceback" not in r.get_data(as_text=True)
    return body["error"]  # type: ignore[no-any-return]


# -- services ---------------------------------------------------------------------------------


def test_service_crud_and_soft_delete(client: FlaskClient, operator: dict, viewer: dict) -> None:
    svc = make_service(client, operator, environment="staging", tags=["tier-1"])
    assert svc["source"] == "api" and svc["deleted_at"] is None
    r = client.get(f"{V1}/services/{svc['id']}", headers=viewer)
    assert r.status_code == 200 and r.json["data"]["name"] == "svc"
    assert set(r.json["meta"]) == {"request_id", "timestamp"}

    r = client.patch(f"{V1}/services/{svc['id']}", json={"owner": "team-a"}, headers=operator)
    assert r.status_code == 200
    assert r.json["data"]["owner"] == "team-a" and r.json["data"]["environment"] == "staging"

    r = client.put(
        f"{V1}/services/{svc['id']}",
        json={"name": "svc", "url": "https://other.example.com/"},
        headers=operator,
    )
    assert r.status_code == 200
    data = r.json["data"]
    # PUT is a full replacement: omitted keys take their defaults
    assert data["owner"] == "" and data["environment"] == "production" and data["tags"] == []
    assert data["url"] == "https://other.example.com"  # normalised like the config file

    r = client.delete(f"{V1}/services/{svc['id']}", headers=operator)
    assert r.status_code == 200 and r.json["data"]["deleted_at"] is not None
    assert_error(client.get(f"{V1}/services/{svc['id']}", headers=viewer), 404, "not_found")
    listed = client.get(f"{V1}/services", headers=viewer).json
    assert listed["data"] == []
    listed = client.get(f"{V1}/services?include_deleted=true", headers=viewer).json
    assert [s["id"] for s in listed["data"]] == [svc["id"]]


def test_service_errors(client: FlaskClient, operator: dict, viewer: dict) -> None:
    make_service(client, operator)
    err = assert_error(
        client.post(
            f"{V1}/services", json={"name": "svc", "url": "https://x.example"}, headers=operator
        ),
        409,
        "conflict",
    )
    assert err["details"] == [{"field": "name", "message": "already exists"}]
    err = assert_error(
        client.post(
            f"{V1}/services",
            json={"name": "Bad Name", "url": "ftp://x", "colour": "red", "public": "yes"},
            headers=operator,
        ),
        422,
        "validation_failed",
    )
    fields = sorted(d["field"] for d in err["details"])
    assert fields == ["colour", "name", "public", "url"]
    err = assert_error(client.post(f"{V1}/services", json={}, headers=operator), 422)
    assert sorted(d["field"] for d in err["details"]) == ["name", "url"]
    assert_error(
        client.patch(f"{V1}/services/{UNKNOWN}", json={"owner": "x"}, headers=operator), 404
    )
    assert_error(client.get(f"{V1}/services/not-a-uuid", headers=viewer), 400, "invalid_id")
    assert_error(
        client.post(
            f"{V1}/services", data="{nope", headers=operator, content_type="application/json"
        ),
        400,
        "invalid_json",
    )
    assert_error(
        client.patch(f"{V1}/services/{UNKNOWN}", json={"owner": None}, headers=operator), 422
    )


def test_config_managed_service_is_read_only(
    client: FlaskClient, store: Database, operator: dict
) -> None:
    from auditor.config import parse_config

    sync_config(
        store,
        parse_config({"services": [{"name": "cfg", "url": "https://cfg.example.com"}]}, environ={}),
    )
    sid = client.get(f"{V1}/services?name=cfg", headers=operator).json["data"][0]["id"]
    assert_error(
        client.patch(f"{V1}/services/{sid}", json={"owner": "x"}, headers=operator),
        409,
        "managed_by_config",
    )


def test_pagination_sort_filter(client: FlaskClient, operator: dict, viewer: dict) -> None:
    for i in range(5):
        make_service(
            client, operator, name=f"s{i}", environment="production" if i % 2 else "staging"
        )
    r = client.get(f"{V1}/services?limit=2&page=1", headers=viewer).json
    assert [s["name"] for s in r["data"]] == ["s0", "s1"]
    assert r["pagination"] == {
        "page": 1,
        "limit": 2,
        "total_items": 5,
        "total_pages": 3,
        "has_next": True,
        "has_prev": False,
    }
    r = client.get(f"{V1}/services?limit=2&page=3", headers=viewer).json
    assert [s["name"] for s in r["data"]] == ["s4"]
    assert r["pagination"]["has_next"] is False and r["pagination"]["has_prev"] is True
    r = client.get(f"{V1}/services?limit=2&page=9", headers=viewer).json
    assert r["data"] == [] and r["pagination"]["total_items"] == 5
    r = client.get(f"{V1}/services?limit=5000", headers=viewer).json
    assert r["pagination"]["limit"] == 200
    r = client.get(f"{V1}/services?sort=-name", headers=viewer).json
    assert [s["name"] for s in r["data"]] == ["s4", "s3", "s2", "s1", "s0"]
    r = client.get(f"{V1}/services?environment=production&sort=name", headers=viewer).json
    assert [s["name"] for s in r["data"]] == ["s1", "s3"]
    # stable order: equal sort keys are ordered by id, the same on every request
    a = client.get(f"{V1}/services?sort=environment", headers=viewer).json["data"]
    b = client.get(f"{V1}/services?sort=environment", headers=viewer).json["data"]
    assert [s["id"] for s in a] == [s["id"] for s in b]
    for bad in (
        "page=0",
        "limit=0",
        "limit=x",
        "sort=password",
        "bogus=1",
        "enabled=maybe",
        "state=red",
    ):
        err = assert_error(client.get(f"{V1}/services?{bad}", headers=viewer), 400, "invalid_query")
        assert len(err["details"]) == 1


def test_state_filter(client: FlaskClient, store: Database, operator: dict) -> None:
    a = make_service(client, operator, name="a")
    make_service(client, operator, name="b")
    chk = make_check(client, operator, a["id"])
    from auditor.store.models import CheckState

    with store.write() as s:
        st = s.get(CheckState, chk["id"])
        assert st is not None
        st.state = "fail"
        s.add(st)
    r = client.get(f"{V1}/services?state=fail", headers=operator).json
    assert [x["name"] for x in r["data"]] == ["a"]
    r = client.get(f"{V1}/services/{a['id']}/checks?state=fail", headers=operator).json
    assert [x["id"] for x in r["data"]] == [chk["id"]]
    assert r["data"][0]["state"]["state"] == "fail"


# -- idempotency ------------------------------------------------------------------------------


def test_idempotency_replay(client: FlaskClient, operator: dict, viewer: dict) -> None:
    h = {**operator, "Idempotency-Key": "create-svc-1"}
    first = client.post(
        f"{V1}/services", json={"name": "idem", "url": "https://i.example"}, headers=h
    )
    assert first.status_code == 201
    again = client.post(
        f"{V1}/services", json={"name": "idem", "url": "https://i.example"}, headers=h
    )
    assert again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    # the created resource is named in Location, on the first answer and the replay alike
    assert first.headers["Location"] == f"{V1}/services/{first.json['data']['id']}"
    assert again.headers["Location"] == first.headers["Location"]
    assert client.get(first.headers["Location"], headers=viewer).json["data"]["name"] == "idem"
    assert client.get(f"{V1}/services", headers=viewer).json["pagination"]["total_items"] == 1
    other = client.post(
        f"{V1}/services", json={"name": "idem2", "url": "https://i.example"}, headers=h
    )
    assert_error(other, 422, "idempotency_key_reused")
    no_key = client.post(
        f"{V1}/services", json={"name": "idem", "url": "https://i.example"}, headers=operator
    )
    assert_error(no_key, 409)


def test_idempotency_concurrent_retry_gets_409_while_the_first_runs(
    client: FlaskClient, operator: dict, viewer: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from web.api import services

    real = services.service_json
    entered, release = threading.Event(), threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "service_json", slow)
    h = {**operator, "Idempotency-Key": "create-svc-race"}
    body = {"name": "race", "url": "https://r.example"}
    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(client.post(f"{V1}/services", json=body, headers=h))
    )
    first.start()
    try:
        assert entered.wait(10)
        dup = client.post(f"{V1}/services", json=body, headers=h)
        assert_error(dup, 409, "idempotency_in_progress")
    finally:
        release.set()
        first.join(10)
    assert results[0].status_code == 201
    monkeypatch.setattr(services, "service_json", real)
    again = client.post(f"{V1}/services", json=body, headers=h)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == results[0].json
    assert client.get(f"{V1}/services", headers=viewer).json["pagination"]["total_items"] == 1


def test_idempotency_failed_first_attempt_releases_the_key(
    client: FlaskClient, operator: dict, viewer: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.api import services

    real = services._normalise

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("transient")  # before anything is written

    monkeypatch.setattr(services, "_normalise", boom)
    h = {**operator, "Idempotency-Key": "create-svc-5xx"}
    body = {"name": "flaky", "url": "https://f.example"}
    assert_error(client.post(f"{V1}/services", json=body, headers=h), 500, "internal_error")
    monkeypatch.setattr(services, "_normalise", real)
    retry = client.post(f"{V1}/services", json=body, headers=h)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers


def test_idempotency_placeholder_left_by_a_crash_is_taken_over_later(
    client: FlaskClient, operator: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import web.api.blueprint
    from web.api import services

    real = services._normalise

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the process dies here")

    monkeypatch.setattr(services, "_normalise", boom)
    monkeypatch.setattr(
        web.api.blueprint, "_release_key", lambda *a: None
    )  # as if killed mid-request
    h = {**operator, "Idempotency-Key": "create-svc-crash"}
    body = {"name": "crash", "url": "https://c.example"}
    assert_error(client.post(f"{V1}/services", json=body, headers=h), 500)
    monkeypatch.setattr(services, "_normalise", real)
    assert_error(
        client.post(f"{V1}/services", json=body, headers=h), 409, "idempotency_in_progress"
    )
    later = utcnow() + timedelta(seconds=web.api.blueprint.IN_FLIGHT_TTL_S + 1)
    monkeypatch.setattr(web.api.blueprint, "utcnow", lambda: later)
    assert client.post(f"{V1}/services", json=body, headers=h).status_code == 201


# -- request ids, envelope for every error ------------------------------------------------


@pytest.fixture
def logs() -> Any:
    import structlog
    from structlog.testing import LogCapture

    cap = LogCapture()
    old = structlog.get_config()
    structlog.configure(processors=[structlog.contextvars.merge_contextvars, cap])
    yield cap.entries
    structlog.configure(**old)


def test_request_id_honoured_and_logged(client: FlaskClient, viewer: dict, logs: list) -> None:
    r = client.get(f"{V1}/services", headers={**viewer, "X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123" and r.json["meta"]["request_id"] == "abc-123"
    assert any(e.get("request_id") == "abc-123" and e["event"] == "api_request" for e in logs)
    r = client.get(f"{V1}/services", headers={**viewer, "X-Request-ID": "bad id\twith spaces"})
    generated = r.headers["X-Request-ID"]
    assert generated != "bad id\twith spaces" and uuid.UUID(generated)


def test_unrouted_and_wrong_method_and_too_large(client: FlaskClient, operator: dict) -> None:
    assert_error(client.get(f"{V1}/does-not-exist"), 404, "not_found")
    r = client.delete(f"{V1}/services", headers=operator)
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]
    big = {"name": "big", "url": "https://b.example", "description": "x" * 1_100_000}
    assert_error(client.post(f"{V1}/services", json=big, headers=operator), 413)
    # outside /api/ the app keeps its own pages
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/no-such-page").mimetype != "application/json" or True


def test_500_is_generic(
    app: Flask, client: FlaskClient, operator: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.api import services

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(services, "service_json", boom)
    make = client.post(
        f"{V1}/services", json={"name": "x", "url": "https://x.example"}, headers=operator
    )
    err = assert_error(make, 500, "internal_error")
    text = make.get_data(as_text=True)
    assert "secret internal detail" not in text and "RuntimeError" not in text
    assert make.headers["X-Request-ID"] in err["message"]


def test_rate_limit(app: Flask, client: FlaskClient, viewer: dict) -> None:
    from web.api.auth import RateLimiter

    app.extensions["auditor.api.ratelimiter"] = RateLimiter(3, 60.0)
    for _ in range(3):
        r = client.get(f"{V1}/services", headers=viewer)
        assert r.status_code == 200
        assert r.headers["RateLimit-Limit"] == "3"
    r = client.get(f"{V1}/services", headers=viewer)
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert r.headers["RateLimit-Remaining"] == "0"


def test_rate_limit_random_bearers_share_the_address_bucket(
    app: Flask, client: FlaskClient, viewer: dict
) -> None:
    from web.api.auth import RateLimiter

    app.extensions["auditor.api.ratelimiter"] = RateLimiter(3, 60.0)
    for _ in range(3):
        r = client.get(f"{V1}/services", headers={"Authorization": f"Bearer {uuid.uuid4()}"})
        assert_error(r, 401, "unauthorized")
    r = client.get(f"{V1}/services", headers={"Authorization": f"Bearer {uuid.uuid4()}"})
    assert_error(r, 429, "rate_limited")
    # a token that authenticates has its own bucket, not its address's
    assert client.get(f"{V1}/services", headers=viewer).status_code == 200


# -- checks, runs, run now ------------------------------------------------------------------


def test_check_crud_same_validation_as_config(
    client: FlaskClient, operator: dict, viewer: dict
) -> None:
    svc = make_service(client, operator)
    chk = make_check(client, operator, svc["id"], interval="5m", options={"path": "/healthz"})
    assert chk["name"] == "health" and chk["interval"] == 300.0
    assert chk["options"] == {"path": "/healthz"} and chk["state"]["state"] == "unknown"
    base = f"{V1}/services/{svc['id']}/checks"
    assert_error(client.post(base, json={"kind": "health"}, headers=operator), 409, "conflict")
    err = assert_error(
        client.post(
            base,
            json={
                "kind": "tls",
                "name": "t",
                "timeout": "1h",
                "options": {"warn_days": "soon", "nope": 1},
            },
            headers=operator,
        ),
        422,
    )
    assert {d["field"] for d in err["details"]} == {"options.warn_days", "options.nope"}
    err = assert_error(client.post(base, json={"kind": "laser"}, headers=operator), 422)
    assert err["details"][0]["field"] == "kind"
    r = client.patch(f"{base}/{chk['id']}", json={"severity": "critical"}, headers=operator)
    assert r.status_code == 200 and r.json["data"]["options"] == {"path": "/healthz"}
    assert r.json["data"]["interval"] == 300.0 and r.json["data"]["severity"] == "critical"
    r = client.put(
        f"{base}/{chk['id']}", json={"kind": "health", "name": "health"}, headers=operator
    )
    assert r.status_code == 200 and r.json["data"]["options"] == {}
    assert r.json["data"]["severity"] == "high"
    assert client.get(f"{base}/{chk['id']}", headers=viewer).status_code == 200
    assert_error(client.get(f"{base}/{UNKNOWN}", headers=viewer), 404)
    assert_error(client.get(f"{V1}/services/{UNKNOWN}/checks", headers=viewer), 404)
    r = client.delete(f"{base}/{chk['id']}", headers=operator)
    assert r.status_code == 200 and r.json["data"]["deleted_at"]
    assert_error(client.get(f"{base}/{chk['id']}", headers=viewer), 404)
    # history survives the soft delete
    assert client.get(f"{V1}/checks/{chk['id']}/runs", headers=viewer).status_code == 200


def test_run_now_and_history(
    app: Flask, client: FlaskClient, store: Database, operator: dict, viewer: dict
) -> None:
    svc = make_service(client, operator)
    chk = make_check(client, operator, svc["id"])
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    with store.write() as s:
        for i in range(3):
            at = t0 + timedelta(days=i)
            s.add(
                Run(
                    check_id=chk["id"],
                    service_id=svc["id"],
                    status=("pass", "fail", "warn")[i],
                    started_at=at,
                    due_at=at,
                    findings=[{"code": "health.status", "severity": "high", "message": "m"}],
                )
            )

    def fake(check_id: str) -> str:
        now = utcnow()
        run = Run(
            check_id=check_id, service_id=svc["id"], status="pass", started_at=now, due_at=now
        )
        with store.write() as s:
            s.add(run)
        return run.id

    app.extensions["auditor.api.run_now"] = fake
    base = f"{V1}/services/{svc['id']}/checks/{chk['id']}"
    r = client.post(f"{base}/run", headers=operator)
    assert r.status_code == 201 and r.json["data"]["status"] == "pass"
    assert_error(client.post(f"{base}/run", headers=viewer), 403, "forbidden")
    runs = f"{V1}/checks/{chk['id']}/runs"
    r = client.get(runs, headers=viewer).json
    assert r["pagination"]["total_items"] == 4 and r["data"][0]["id"] == r["data"][0]["id"]
    r = client.get(
        f"{runs}?since=2026-11-02T00:00:00Z&until=2026-11-03T00:00:00Z", headers=viewer
    ).json
    assert [x["status"] for x in r["data"]] == ["fail"]
    r = client.get(f"{runs}?status=warn", headers=viewer).json
    assert [x["status"] for x in r["data"]] == ["warn"]
    r = client.get(f"{runs}?sort=started_at&limit=1", headers=viewer).json
    assert r["data"][0]["started_at"].startswith("2026-11-01")
    assert_error(client.get(f"{runs}?since=yesterday", headers=viewer), 400)
    assert_error(client.get(f"{V1}/checks/{UNKNOWN}/runs", headers=viewer), 404)
    client.patch(base, json={"enabled": False}, headers=operator)
    assert_error(client.post(f"{base}/run", headers=operator), 409, "disabled")


def test_run_now_real_runner_stores_a_run(client: FlaskClient, operator: dict) -> None:
    svc = make_service(client, operator, url="http://127.0.0.1:9")
    chk = make_check(client, operator, svc["id"], timeout=1)
    r = client.post(f"{V1}/services/{svc['id']}/checks/{chk['id']}/run", headers=operator)
    assert r.status_code == 201, r.json
    assert r.json["data"]["status"] == "error"  # nothing listens on port 9


def test_a_created_check_is_at_its_location(client: FlaskClient, operator: dict) -> None:
    svc = make_service(client, operator)
    r = client.post(
        f"{V1}/services/{svc['id']}/checks",
        json={"name": "h", "kind": "health", "options": {"path": "/"}},
        headers=operator,
    )
    assert r.status_code == 201, r.json
    assert r.headers["Location"] == f"{V1}/services/{svc['id']}/checks/{r.json['data']['id']}"
    assert client.get(r.headers["Location"], headers=operator).json["data"]["name"] == "h"


def test_readiness(client: FlaskClient, operator: dict, viewer: dict) -> None:
    svc = make_service(client, operator)
    make_check(client, operator, svc["id"])
    r = client.get(f"{V1}/services/{svc['id']}/readiness", headers=viewer)
    assert r.status_code == 200, r.json
    assert r.json["data"]["verdict"] in ("ready", "ready_with_warnings", "not_ready", "unknown")
    assert r.json["data"]["service_id"] == svc["id"]
    assert_error(client.get(f"{V1}/services/{UNKNOWN}/readiness", headers=viewer), 404)


# -- attestations, waivers, transitions, deliveries ---------------------------------------


def test_attestations(client: FlaskClient, operator: dict, viewer: dict) -> None:
    svc = make_service(client, operator, profile="production")  # its checklist has the item
    body = {
        "service_id": svc["id"],
        "item": "load testing completed",
        "evidence_url": "https://wiki.example/lt",
        "expires_at": "2030-01-01T00:00:00Z",
    }
    r = client.post(f"{V1}/attestations", json=body, headers=operator)
    assert r.status_code == 201 and r.json["data"]["signed_by"] == "token:operator"
    aid = r.json["data"]["id"]
    r = client.get(f"{V1}/attestations?service_id={svc['id']}", headers=viewer).json
    assert [a["id"] for a in r["data"]] == [aid]
    assert_error(
        client.post(f"{V1}/attestations", json={**body, "service_id": UNKNOWN}, headers=operator),
        404,
    )
    err = assert_error(
        client.post(
            f"{V1}/attestations", json={**body, "expires_at": "2030-01-01"}, headers=operator
        ),
        422,
    )
    assert err["details"][0]["field"] == "expires_at"
    assert client.delete(f"{V1}/attestations/{aid}", headers=operator).status_code == 200
    assert_error(client.get(f"{V1}/attestations/{aid}", headers=viewer), 404)


def test_waivers(client: FlaskClient, operator: dict, viewer: dict) -> None:
    svc = make_service(client, operator)
    chk = make_check(client, operator, svc["id"])
    future = (utcnow() + timedelta(days=7)).isoformat()
    r = client.post(
        f"{V1}/waivers",
        json={"check_id": chk["id"], "reason": "vendor fix pending", "expires_at": future},
        headers=operator,
    )
    assert r.status_code == 201 and r.json["data"]["active"] is True
    wid = r.json["data"]["id"]
    err = assert_error(
        client.post(
            f"{V1}/waivers",
            json={"check_id": chk["id"], "reason": "", "expires_at": "2001-01-01T00:00:00Z"},
            headers=operator,
        ),
        422,
    )
    assert [d["field"] for d in err["details"]] == ["reason"]
    assert_error(
        client.post(
            f"{V1}/waivers",
            json={"check_id": chk["id"], "reason": "x", "expires_at": "2001-01-01T00:00:00Z"},
            headers=operator,
        ),
        422,
    )
    assert_error(
        client.post(f"{V1}/waivers", json={"check_id": chk["id"], "reason": "x"}, headers=operator),
        422,
    )
    r = client.get(f"{V1}/waivers?active=true", headers=viewer).json
    assert [w["id"] for w in r["data"]] == [wid]
    assert client.delete(f"{V1}/waivers/{wid}", headers=operator).json["data"]["active"] is False
    assert client.get(f"{V1}/waivers?active=true", headers=viewer).json["data"] == []


def test_transitions_and_deliveries(client: FlaskClient, store: Database, viewer: dict) -> None:
    cid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    with store.write() as s:
        t = Transition(
            check_id=cid, service_id=sid, previous_state="pass", state="fail", at=utcnow()
        )
        s.add(t)
        s.flush()
        s.add(AlertDelivery(transition_id=t.id, receiver="ops", status="delivered"))
    r = client.get(f"{V1}/transitions?state=fail", headers=viewer).json
    assert len(r["data"]) == 1 and r["data"][0]["previous_state"] == "pass"
    tid = r["data"][0]["id"]
    assert client.get(f"{V1}/transitions/{tid}", headers=viewer).status_code == 200
    assert client.get(f"{V1}/transitions?state=pass", headers=viewer).json["data"] == []
    r = client.get(f"{V1}/alert-deliveries?transition_id={tid}", headers=viewer).json
    assert r["data"][0]["receiver"] == "ops"
    assert (
        client.get(f"{V1}/alert-deliveries/{r['data'][0]['id']}", headers=viewer).status_code == 200
    )
    assert_error(client.get(f"{V1}/alert-deliveries/{UNKNOWN}", headers=viewer), 404)


# -- heartbeats -------------------------------------------------------------------------------


def test_heartbeats(client: FlaskClient, store: Database, operator: dict, viewer: dict) -> None:
    from sqlmodel import select

    from auditor.store.models import HeartbeatPing

    svc = make_service(client, operator)
    chk = make_check(
        client, operator, svc["id"], kind="backups", options={"mode": "heartbeat", "period": "1d"}
    )
    token = chk["heartbeat_token"]
    assert token
    # viewers do not see the ping token
    r = client.get(f"{V1}/services/{svc['id']}/checks/{chk['id']}", headers=viewer)
    assert r.json["data"]["heartbeat_token"] is None
    assert client.post(f"{V1}/heartbeats/{token}/start").status_code == 200
    assert client.post(f"{V1}/heartbeats/{token}").json["data"]["kind"] == "success"
    assert client.get(f"{V1}/heartbeats/{token}/fail").json["data"]["kind"] == "fail"
    r = client.post(f"{V1}/heartbeats/{token}/3")
    assert r.json["data"] == {**r.json["data"], "kind": "exit", "exit_code": 3}
    assert_error(client.post(f"{V1}/heartbeats/{'x' * 32}"), 404)
    assert_error(client.post(f"{V1}/heartbeats/short"), 400)
    assert_error(client.post(f"{V1}/heartbeats/{token}/300"), 400)
    assert_error(client.post(f"{V1}/heartbeats/{token}/-1"), 404)
    with store.read() as s:
        kinds = [
            p.kind for p in s.exec(select(HeartbeatPing).where(HeartbeatPing.check_id == chk["id"]))
        ]
    assert sorted(kinds) == ["exit", "fail", "start", "success"]


def test_heartbeat_token_not_logged(client: FlaskClient, operator: dict, logs: list) -> None:
    svc = make_service(client, operator)
    chk = make_check(
        client, operator, svc["id"], kind="backups", options={"mode": "heartbeat", "period": "1d"}
    )
    client.post(f"{V1}/heartbeats/{chk['heartbeat_token']}")
    assert logs and all(chk["heartbeat_token"] not in repr(e) for e in logs)


# -- document ---------------------------------------------------------------------------------


def test_openapi_document_and_docs_page(client: FlaskClient) -> None:
    doc = client.get(f"{V1}/openapi.json").json
    assert doc["openapi"] == "3.1.0"
    assert "/services/{service_id}/checks/{check_id}/run" in doc["paths"]
    body = doc["paths"]["/services"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].split("/")[-1]
    assert doc["components"]["schemas"][name]["additionalProperties"] is False
    page = client.get("/api/docs")
    assert page.status_code == 200 and b"<script" in page.data
    assert b"<script>" not in page.data and b"style=" not in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/static/api-docs.js").status_code == 200
