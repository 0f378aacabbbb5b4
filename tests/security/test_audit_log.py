"""Issue #17 item 7: every change, login, token and waiver leaves one audit row.

Each case performs one action the way a user would — an operator (or admin) token over the
REST API, or a signed-in user posting the dashboard form with its CSRF token — against the
real Flask app on SQLite and PostgreSQL, then reads the raw ``audit_event`` rows: exactly one
new event with the right actor, action, target and source address, and no secret (a header
value, a password, a token) anywhere in the stored row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from auditor.config import parse_config
from auditor.store.accounts import create_token, create_user
from auditor.store.audit_log import Actor, AuditScope, prune_events, record
from auditor.store.db import Database
from auditor.store.lastuse import flush_pending
from auditor.store.models import Transition, utcnow
from auditor.store.retention import policy_for, run_retention
from tests.support import cheap_password_hashing

V1 = "/api/v1"
PASSWORD = "correct horse battery"
SECRET = "Bearer s3cr3t-HEADER-value-0123456789"
NEW_PASSWORD = "a brand new passphrase 42"
CRED_URL = "https://deploy:hunter2pass@svc.example.com/?access_token=abc123tok"
IP = "203.0.113.7"
UA = "attack-bot/1.0 " + "x" * 600


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@dataclass
class Env:
    app: Flask
    store: Database
    tokens: dict[str, str]
    token_ids: dict[str, str]
    user_ids: dict[str, str]

    def api(self, role: str) -> FlaskClient:
        c = self.app.test_client()
        c.environ_base.update(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self.tokens[role]}"
        return c

    def browser(self, role: str | None) -> tuple[FlaskClient, str]:
        c = self.app.test_client()
        c.environ_base.update(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)
        if role is None:
            return c, ""
        page = c.get("/login").get_data(as_text=True)
        r = c.post(
            "/login", data={"username": role, "password": PASSWORD, "csrf_token": csrf_of(page)}
        )
        assert r.status_code == 302, r.get_data(as_text=True)
        return c, csrf_of(
            c.get("/manage/").get_data(as_text=True)
            if role != "viewer"
            else c.get("/account").get_data(as_text=True)
        )


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    from web import create_app

    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    store = Database(db_url)
    config = parse_config({"auditor": {"default_timeout": "1s"}}, environ={})
    app = create_app(config, store, test_config={"TESTING": True, "API_RATE_LIMIT": 100_000})
    tokens: dict[str, str] = {}
    token_ids: dict[str, str] = {}
    user_ids: dict[str, str] = {}
    for role in ("viewer", "operator", "admin"):
        row, tokens[role] = create_token(store, name=f"{role}-ci", role=role)
        token_ids[role] = row.id
        user_ids[role] = create_user(store, username=role, role=role, password=PASSWORD).id
    try:
        yield Env(app, store, tokens, token_ids, user_ids)
    finally:
        flush_pending(store)  # token/session last-use bookkeeping, before the schema goes
        store.close()


def raw_events(store: Database) -> list[dict[str, Any]]:
    """The stored rows as the database holds them (not through the model)."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM audit_event ORDER BY at, id")).mappings()
        return [dict(r) for r in rows]


# -- the world each case acts on -------------------------------------------------------------


@dataclass
class World:
    env: Env
    service_id: str
    check_id: str
    check_name: str
    waiver_id: str
    attestation_id: str
    transition_id: str
    spare_token_id: str
    spare_user_id: str


def build_world(env: Env) -> World:
    """Rows made through the API (their own events are counted before the case runs)."""
    op = env.api("operator")
    svc = op.post(f"{V1}/services", json={"name": "svc", "url": "http://127.0.0.1:9/"}).get_json()[
        "data"
    ]
    chk = op.post(
        f"{V1}/services/{svc['id']}/checks",
        json={
            "kind": "health",
            "name": "web",
            "options": {"path": "/h", "headers": {"Authorization": SECRET}},
        },
    ).get_json()["data"]
    expires = (utcnow() + timedelta(days=3)).isoformat()
    waiver = op.post(
        f"{V1}/waivers", json={"check_id": chk["id"], "reason": "known", "expires_at": expires}
    ).get_json()["data"]
    made = op.post(  # the checklist item the attestations below sign (#23: items must exist)
        f"{V1}/services/{svc['id']}/checks",
        json={"kind": "attestation", "options": {"item": "load test"}},
    )
    assert made.status_code == 201, made.get_json()
    att = op.post(
        f"{V1}/attestations", json={"service_id": svc["id"], "item": "load test"}
    ).get_json()["data"]
    tr = Transition(
        check_id=chk["id"], service_id=svc["id"], previous_state="pass", state="fail", at=utcnow()
    )
    with env.store.write() as s:
        s.add(tr)
    adm = env.api("admin")
    spare = adm.post(f"{V1}/tokens", json={"name": "spare", "role": "viewer"}).get_json()["data"]
    user = adm.post(
        f"{V1}/users", json={"username": "spare", "role": "viewer", "password": PASSWORD}
    ).get_json()["data"]
    return World(
        env, svc["id"], chk["id"], "web", waiver["id"], att["id"], tr.id, spare["id"], user["id"]
    )


@dataclass(frozen=True)
class Case:
    action: str
    role: str
    target: Callable[[World], tuple[str, str | None]]  # (target_type, target_id or None)
    act: Callable[[World, FlaskClient, str], Any]
    secrets: tuple[str, ...] = ()


def _api(method: str, path: Callable[[World], str], body: Callable[[World], Any] | None = None):  # type: ignore[no-untyped-def]
    def act(w: World, c: FlaskClient, _csrf: str) -> Any:
        r = c.open(V1 + path(w), method=method, json=body(w) if body else None)
        assert 200 <= r.status_code < 300, r.get_json()
        return r

    return act


def _form(path: Callable[[World], str], data: Callable[[World], dict[str, str]] | None = None):  # type: ignore[no-untyped-def]
    def act(w: World, c: FlaskClient, csrf: str) -> Any:
        r = c.post(path(w), data={"csrf_token": csrf, **(data(w) if data else {})})
        assert r.status_code in (200, 302, 303), re.findall(
            r"(?:error|invalid)[^<]{0,200}", r.get_data(as_text=True)
        )
        return r

    return act


def _enrol_totp(w: World, c: FlaskClient, csrf: str) -> Any:
    """Enrol with the secret the server drew (shown once on the page): it never reaches the log."""
    import pyotp

    page = c.get("/account/totp").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page)
    sealed = re.search(r'name="enrolment" value="([^"]+)"', page)
    assert secret and sealed
    form = {"enrolment": sealed.group(1), "password": PASSWORD}
    r = _form(
        lambda _w: "/account/totp", lambda _w: form | {"code": pyotp.TOTP(secret.group(1)).now()}
    )(w, c, csrf)
    assert secret.group(1) not in repr(raw_events(w.env.store))
    return r


def _new(kind: str) -> Callable[[World], tuple[str, str | None]]:
    return lambda w: (kind, None)


SVC = lambda w: ("service", w.service_id)  # noqa: E731
CHK = lambda w: ("check", w.check_id)  # noqa: E731
CHECK_FORM = {
    "kind": "health",
    "name": "web2",
    "interval": "5m",
    "timeout": "5s",
    "severity": "high",
    "level": "bronze",
    "enabled": "on",
    "options": 'path = "/h"\nheaders = { X-Trace = "plain" }',  # the form refuses plain secrets
}
SERVICE_FORM = {
    "name": "svc2",
    "url": "https://svc2.example.com",
    "environment": "production",
    "enabled": "on",
}

API_CASES = {
    "api-service-create": Case(
        "service.create",
        "operator",
        _new("service"),
        _api(
            "POST", lambda w: "/services", lambda w: {"name": "new", "url": "https://n.example.com"}
        ),
    ),
    "api-service-update": Case(
        "service.update",
        "operator",
        SVC,
        _api("PATCH", lambda w: f"/services/{w.service_id}", lambda w: {"owner": "team-x"}),
    ),
    "api-service-url-credentials": Case(
        "service.update",
        "operator",
        SVC,
        _api("PATCH", lambda w: f"/services/{w.service_id}", lambda w: {"url": CRED_URL}),
        ("hunter2pass", "abc123tok"),
    ),
    "api-service-delete": Case(
        "service.delete", "operator", SVC, _api("DELETE", lambda w: f"/services/{w.service_id}")
    ),
    "api-check-create-secret-header": Case(
        "check.create",
        "operator",
        _new("check"),
        _api(
            "POST",
            lambda w: f"/services/{w.service_id}/checks",
            lambda w: {
                "kind": "health",
                "name": "c2",
                "options": {"headers": {"Authorization": SECRET + "-new"}},
            },
        ),
        (SECRET,),
    ),
    "api-check-update-secret-header": Case(
        "check.update",
        "operator",
        CHK,
        _api(
            "PATCH",
            lambda w: f"/services/{w.service_id}/checks/{w.check_id}",
            lambda w: {
                "options": {"headers": {"Authorization": SECRET + "-rotated"}, "path": "/h2"}
            },
        ),
        (SECRET,),
    ),
    "api-check-delete": Case(
        "check.delete",
        "operator",
        CHK,
        _api("DELETE", lambda w: f"/services/{w.service_id}/checks/{w.check_id}"),
    ),
    "api-run-now": Case(
        "run_now",
        "operator",
        CHK,
        _api("POST", lambda w: f"/services/{w.service_id}/checks/{w.check_id}/run"),
    ),
    "api-waiver-create": Case(
        "waiver.create",
        "operator",
        _new("waiver"),
        _api(
            "POST",
            lambda w: "/waivers",
            lambda w: {
                "check_id": w.check_id,
                "reason": "r",
                "expires_at": (utcnow() + timedelta(days=1)).isoformat(),
            },
        ),
    ),
    "api-waiver-delete": Case(
        "waiver.delete",
        "operator",
        lambda w: ("waiver", w.waiver_id),
        _api("DELETE", lambda w: f"/waivers/{w.waiver_id}"),
    ),
    "api-attestation-create": Case(
        "attestation.create",
        "operator",
        _new("attestation"),
        _api(
            "POST",
            lambda w: "/attestations",
            lambda w: {"service_id": w.service_id, "item": "load test"},
        ),
    ),
    "api-attestation-delete": Case(
        "attestation.delete",
        "operator",
        lambda w: ("attestation", w.attestation_id),
        _api("DELETE", lambda w: f"/attestations/{w.attestation_id}"),
    ),
    "api-token-create": Case(
        "token.create",
        "admin",
        _new("token"),
        _api("POST", lambda w: "/tokens", lambda w: {"name": "deploy", "role": "operator"}),
    ),
    "api-token-revoke": Case(
        "token.revoke",
        "admin",
        lambda w: ("token", w.spare_token_id),
        _api("DELETE", lambda w: f"/tokens/{w.spare_token_id}"),
    ),
    "api-user-create-password": Case(
        "user.create",
        "admin",
        _new("user"),
        _api(
            "POST",
            lambda w: "/users",
            lambda w: {"username": "bob", "role": "viewer", "password": NEW_PASSWORD},
        ),
        (NEW_PASSWORD,),
    ),
    "api-user-update-password": Case(
        "user.update",
        "admin",
        lambda w: ("user", w.spare_user_id),
        _api(
            "PATCH",
            lambda w: f"/users/{w.spare_user_id}",
            lambda w: {"password": NEW_PASSWORD, "role": "operator"},
        ),
        (NEW_PASSWORD,),
    ),
    "api-user-delete": Case(
        "user.delete",
        "admin",
        lambda w: ("user", w.spare_user_id),
        _api("DELETE", lambda w: f"/users/{w.spare_user_id}"),
    ),
}

FORM_CASES = {
    "form-service-create": Case(
        "service.create",
        "operator",
        _new("service"),
        _form(lambda w: "/manage/services/new", lambda w: SERVICE_FORM),
    ),
    "form-service-update": Case(
        "service.update",
        "operator",
        SVC,
        _form(
            lambda w: "/manage/services/svc/edit",
            lambda w: {**SERVICE_FORM, "name": "svc", "owner": "team-y"},
        ),
    ),
    "form-service-url-credentials": Case(
        "service.update",
        "operator",
        SVC,
        _form(
            lambda w: "/manage/services/svc/edit",
            lambda w: {**SERVICE_FORM, "name": "svc", "url": CRED_URL},
        ),
        ("hunter2pass", "abc123tok"),
    ),
    "form-check-create-secret-header": Case(
        "check.create",
        "operator",
        _new("check"),
        _form(lambda w: "/manage/services/svc/checks/new", lambda w: CHECK_FORM),
        (SECRET,),
    ),
    "form-check-update-secret-header": Case(
        "check.update",
        "operator",
        CHK,
        _form(
            lambda w: f"/manage/checks/{w.check_id}/edit",
            lambda w: {
                **CHECK_FORM,
                "name": "web",
                "options": CHECK_FORM["options"].replace("/h", "/h3"),
            },
        ),
        (SECRET,),
    ),
    "form-run-now": Case(
        "run_now", "operator", CHK, _form(lambda w: f"/manage/checks/{w.check_id}/run")
    ),
    "form-waiver-create": Case(
        "waiver.create",
        "operator",
        _new("waiver"),
        _form(
            lambda w: f"/manage/checks/{w.check_id}/waive",
            lambda w: {"reason": "known issue", "expires": "3"},
        ),
    ),
    "form-waiver-withdraw": Case(
        "waiver.delete", "operator", CHK, _form(lambda w: f"/manage/checks/{w.check_id}/unwaive")
    ),
    "form-attestation-create": Case(
        "attestation.create",
        "operator",
        _new("attestation"),
        _form(
            lambda w: "/manage/services/svc/attest",
            lambda w: {
                "item": "load test",
                "comment": "done",
                "evidence_url": "",
                "valid_days": "30",
            },
        ),
    ),
    "form-alert-ack": Case(
        "alert.ack",
        "operator",
        lambda w: ("transition", w.transition_id),
        _form(lambda w: f"/manage/transitions/{w.transition_id}/ack"),
    ),
    "form-user-create-password": Case(
        "user.create",
        "admin",
        _new("user"),
        _form(
            lambda w: "/manage/users",
            lambda w: {"username": "carol", "role": "viewer", "password": NEW_PASSWORD},
        ),
        (NEW_PASSWORD,),
    ),
    "form-user-role": Case(
        "user.update",
        "admin",
        lambda w: ("user", w.spare_user_id),
        _form(
            lambda w: f"/manage/users/{w.spare_user_id}/update",
            lambda w: {"action": "role", "role": "operator"},
        ),
    ),
    "form-user-delete": Case(
        "user.delete",
        "admin",
        lambda w: ("user", w.spare_user_id),
        _form(lambda w: f"/manage/users/{w.spare_user_id}/update", lambda w: {"action": "delete"}),
    ),
    "form-token-create": Case(
        "token.create",
        "admin",
        _new("token"),
        _form(
            lambda w: "/manage/tokens",
            lambda w: {"name": "deploy", "role": "viewer", "expires_days": "30"},
        ),
    ),
    "form-token-revoke": Case(
        "token.revoke",
        "admin",
        lambda w: ("token", w.spare_token_id),
        _form(lambda w: f"/manage/tokens/{w.spare_token_id}/revoke"),
    ),
    "form-password-change": Case(
        "user.update",
        "operator",
        lambda w: ("user", w.env.user_ids["operator"]),
        _form(
            lambda w: "/account",
            lambda w: {
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        ),
        (NEW_PASSWORD, PASSWORD),
    ),
    "form-totp-enrol": Case(
        "totp.enrol",
        "operator",
        lambda w: ("user", w.env.user_ids["operator"]),
        lambda w, c, csrf: _enrol_totp(w, c, csrf),
    ),
    "form-logout": Case(
        "logout",
        "operator",
        lambda w: ("user", w.env.user_ids["operator"]),
        _form(lambda w: "/logout"),
    ),
}


def _assert_one_event(
    w: World, before: int, case: Case, actor: tuple[str, str, str], response: Any
) -> dict[str, Any]:
    rows = raw_events(w.env.store)
    new = rows[before:]
    assert [e["action"] for e in new] == [case.action], new
    ev = new[0]
    kind, target_id = case.target(w)
    assert (ev["actor_kind"], ev["actor_id"], ev["actor_name"]) == actor
    assert ev["target_type"] == kind
    if target_id is not None:
        assert ev["target_id"] == target_id
    else:
        assert ev["target_id"], "a create names the row it made"
    assert ev["source_ip"] == IP
    assert ev["user_agent"] == UA[:255]
    assert ev["outcome"] == "success"
    assert ev["request_id"]
    stored = repr(ev)
    for secret in (*case.secrets, PASSWORD, *w.env.tokens.values()):
        assert secret not in stored, f"{secret!r} stored in the audit row"
    body = response.get_data(as_text=True)
    for leaked in re.findall(r"aud_[A-Za-z0-9_\-]{16,}", body):  # a token shown once
        assert leaked not in stored
    return ev


@pytest.mark.parametrize("case_id", list(API_CASES))
def test_api_action_is_audited(env: Env, case_id: str) -> None:
    case = API_CASES[case_id]
    w = build_world(env)
    before = len(raw_events(env.store))
    r = case.act(w, env.api(case.role), "")
    actor = ("token", env.token_ids[case.role], f"{case.role}-ci")
    ev = _assert_one_event(w, before, case, actor, r)
    if case.action.endswith(".update"):
        assert ev["changes"], "an update records what changed"


@pytest.mark.parametrize("case_id", list(FORM_CASES))
def test_dashboard_form_is_audited(env: Env, case_id: str) -> None:
    case = FORM_CASES[case_id]
    w = build_world(env)
    client, csrf = env.browser(case.role)
    before = len(raw_events(env.store))
    r = case.act(w, client, csrf)
    actor = ("user", env.user_ids[case.role], case.role)
    _assert_one_event(w, before, case, actor, r)


def test_update_diff_is_redacted_and_readable(env: Env) -> None:
    w = build_world(env)
    env.api("operator").patch(
        f"{V1}/services/{w.service_id}/checks/{w.check_id}",
        json={
            "options": {"headers": {"Authorization": SECRET + "-2", "X-Trace": "plain"}},
            "timeout": "3s",
        },
    )
    ev = raw_events(env.store)[-1]
    changes = ev["changes"] if isinstance(ev["changes"], dict) else json.loads(ev["changes"])
    assert ev["action"] == "check.update"
    assert changes["timeout_s"] == [1.0, 3.0]  # default_timeout = "1s"
    assert changes["secret_options"] == ["***", "***"]  # the ciphertext is not shown either
    assert changes["options"][1]["headers"] == {"X-Trace": "plain"}
    assert SECRET not in repr(ev)


# -- logins -----------------------------------------------------------------------------------


def _login(c: FlaskClient, username: str, password: str) -> Any:
    page = c.get("/login").get_data(as_text=True)
    return c.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_of(page)}
    )


@pytest.mark.parametrize(
    ("username", "password", "action", "status"),
    [
        ("operator", PASSWORD, "login.success", 302),
        ("operator", "wrong-password-guess-1", "login.failure", 401),
        ("nobody", "wrong-password-guess-2", "login.failure", 401),
    ],
    ids=["login-success", "login-wrong-password", "login-unknown-user"],
)
def test_login_is_audited_without_the_password(
    env: Env, username: str, password: str, action: str, status: int
) -> None:
    c, _ = env.browser(None)
    before = len(raw_events(env.store))
    assert _login(c, username, password).status_code == status
    new = raw_events(env.store)[before:]
    assert [e["action"] for e in new] == [action]
    ev = new[0]
    assert ev["target_name"] == username and ev["source_ip"] == IP
    assert ev["target_id"] == (env.user_ids.get(username))
    assert password not in repr(ev)


def test_lockout_is_audited(env: Env) -> None:
    c, _ = env.browser(None)
    for i in range(5):
        assert _login(c, "admin", f"guess-number-{i}-xx").status_code == 401
    assert _login(c, "admin", PASSWORD).status_code == 429
    actions = [e["action"] for e in raw_events(env.store) if e["target_name"] == "admin"]
    assert actions == ["login.failure"] * 5 + ["login.locked"]
    assert all(f"guess-number-{i}" not in repr(raw_events(env.store)) for i in range(5))


# -- refusals, reading -------------------------------------------------------------------------


def test_refused_change_leaves_no_event(env: Env) -> None:
    w = build_world(env)
    before = len(raw_events(env.store))
    r = env.api("viewer").patch(f"{V1}/services/{w.service_id}", json={"owner": "x"})
    assert r.status_code == 403
    r = env.api("operator").patch(f"{V1}/services/{w.service_id}", json={"url": "not a url"})
    assert r.status_code == 422
    c, _ = env.browser(None)
    assert c.post(f"/manage/checks/{w.check_id}/run", data={}).status_code in (302, 400, 401, 403)
    assert len(raw_events(env.store)) == before


@pytest.mark.parametrize(
    "role", ["viewer", "operator"], ids=["viewer-reads-audit", "operator-reads-audit"]
)
def test_audit_events_are_admin_only(env: Env, role: str) -> None:
    r = env.api(role).get(f"{V1}/audit-events")
    assert r.status_code == 403
    assert r.get_json()["success"] is False


def test_admin_lists_and_filters(env: Env) -> None:
    w = build_world(env)
    adm = env.api("admin")
    body = adm.get(f"{V1}/audit-events?limit=100").get_json()
    assert body["success"] and body["pagination"]["total_items"] == len(raw_events(env.store))
    ats = [e["at"] for e in body["data"]]
    assert ats == sorted(ats, reverse=True), "newest first"
    only = adm.get(f"{V1}/audit-events?action=waiver.create").get_json()["data"]
    assert [e["target_id"] for e in only] == [w.waiver_id]
    mine = adm.get(f"{V1}/audit-events?actor=admin-ci").get_json()["data"]
    assert {e["action"] for e in mine} == {"token.create", "user.create"}
    by_id = adm.get(f"{V1}/audit-events?actor={env.token_ids['admin']}").get_json()["data"]
    assert len(by_id) == len(mine)
    target = adm.get(f"{V1}/audit-events?target_id={w.service_id}").get_json()["data"]
    assert [e["action"] for e in target] == ["service.create"]
    future = (utcnow() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert adm.get(f"{V1}/audit-events", query_string={"since": future}).get_json()["data"] == []
    bad = adm.get(f"{V1}/audit-events?since=yesterday")
    assert bad.status_code == 400 and "since" in repr(bad.get_json()["error"])
    assert adm.get(f"{V1}/audit-events?limit=1&page=2").get_json()["pagination"]["page"] == 2


@pytest.mark.parametrize(
    "role", [None, "viewer", "operator"], ids=["anonymous-page", "viewer-page", "operator-page"]
)
def test_dashboard_page_is_admin_only(env: Env, role: str | None) -> None:
    c, _ = env.browser(role)
    r = c.get("/manage/audit")
    assert r.status_code in (302, 403)
    assert "audit-events" not in r.get_data(as_text=True)


def test_dashboard_page_escapes_hostile_names(env: Env) -> None:
    hostile = "<script>alert(1)</script>"
    r = env.api("operator").post(
        f"{V1}/services", json={"name": "evil", "url": "https://e.example.com", "owner": hostile}
    )
    assert r.status_code == 201
    scope = AuditScope(
        "service.update", "service", lambda: Actor("user", None, hostile), target_name=hostile
    )
    record(env.store, scope)
    c, _ = env.browser("admin")
    page = c.get("/manage/audit").get_data(as_text=True)
    assert hostile not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="/manage/audit"' in c.get("/manage/").get_data(as_text=True)
    filtered = c.get("/manage/audit?action=service.create").get_data(as_text=True)
    assert "service.create" in filtered and "evil" in filtered


# -- retention ---------------------------------------------------------------------------------


def test_retention_prunes_old_events(env: Env) -> None:
    old = AuditScope("service.update", "service", lambda: Actor("cli"))
    record(env.store, old)
    with env.store.write() as s:
        s.execute(
            sa.text("UPDATE audit_event SET at = :at"),
            {
                "at": (utcnow() - timedelta(days=400)).replace(tzinfo=None)
                if env.store.dialect == "sqlite"
                else utcnow() - timedelta(days=400)
            },
        )
    record(env.store, AuditScope("service.update", "service", lambda: Actor("cli")))
    report = run_retention(env.store, policy=policy_for(30 * 86400.0, 365 * 86400.0))
    assert report.audit_pruned == 1
    assert len(raw_events(env.store)) == 1
    assert prune_events(env.store, utcnow() - timedelta(days=1)) == 0


def test_every_mutating_endpoint_is_audited(env: Env) -> None:
    """A new form or API operation that changes something must name its audit action."""
    from web.audit import ACTIONS

    exempt = {"auth.login", "auth.login_totp"}  # written by login_event
    unaudited = []
    for rule in env.app.url_map.iter_rules():
        methods = (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.endpoint in exempt or rule.endpoint.startswith("api.heartbeat"):
            continue
        if rule.endpoint not in ACTIONS:
            unaudited.append(rule.endpoint)
    assert unaudited == []


def test_change_is_never_stored_without_its_audit_row(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event is written in the change's own transaction: if it cannot be, neither is the
    change (and a change that fails leaves no event)."""
    from auditor.store import audit_log

    w = build_world(env)
    before = len(raw_events(env.store))
    dup = env.api("operator").post(
        f"{V1}/services", json={"name": "svc", "url": "https://d.example.com"}
    )
    assert dup.status_code == 409
    assert len(raw_events(env.store)) == before

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(audit_log, "build_event", broken)
    r = env.api("operator").patch(f"{V1}/services/{w.service_id}", json={"owner": "sneaky"})
    assert r.status_code == 500
    got = env.api("operator").get(f"{V1}/services/{w.service_id}").get_json()["data"]
    assert got["owner"] != "sneaky", "the change was stored without its audit row"


def test_cli_token_create_is_audited(env: Env, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from auditor.cli import main

    cfg = tmp_path / "auditor.toml"
    cfg.write_text(f'[auditor]\ndatabase_url = "{env.store.url}"\n')
    before = len(raw_events(env.store))
    result = CliRunner().invoke(
        main, ["token", "create", "--config", str(cfg), "--role", "operator", "--name", "cron"]
    )
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    new = raw_events(env.store)[before:]
    assert [(e["action"], e["actor_kind"], e["target_name"]) for e in new] == [
        ("token.create", "cli", "cron")
    ]
    assert plaintext not in repr(new[0])
