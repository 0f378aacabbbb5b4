"""Accounts and tokens under attack (issue #17 item 5): a table of attacks, each refused.

The attacks run against the real Flask app through its test client (the client address set
the way a server sets it, ``REMOTE_ADDR``), on SQLite and PostgreSQL, with an operator
token and through the dashboard forms with their CSRF tokens; the throttling and token
expiry attacks also run against the real ``auditor serve`` subprocess over HTTP. Peer
addresses such as 203.0.113.9 are only strings in the WSGI environ: no traffic leaves
the machine.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from auditor.config import Config, parse_config
from auditor.config.sync import sync_config
from auditor.store.accounts import create_token, create_user, user_named
from auditor.store.db import Database
from auditor.store.models import ApiToken, Attestation, User, utcnow
from tests.hardening.daemon import start, stop, wait_for, write_config
from tests.hardening.test_served import free_port
from tests.support import cheap_password_hashing
from web import create_app
from web.throttle import ACCOUNT_LIMIT, SOURCE_LIMIT

PASSWORD = "correct horse battery"
PROXY = "10.1.2.3"  # inside trusted_proxies
STRANGER = "203.0.113.9"  # not a trusted proxy
SERVICE = {
    "name": "payments-api",
    "url": "http://127.0.0.1:9",
    "checks": [{"kind": "attestation", "item": "load testing completed"}],
}


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@dataclass
class Env:
    app: Flask
    store: Database
    config: Config
    operator_token: str
    admin_token: str

    def client(self) -> FlaskClient:
        return self.app.test_client()

    def api(self, method: str, path: str, token: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        return self.client().open("/api/v1" + path, method=method, headers=headers, **kw)

    def user(self, name: str) -> User:
        found = user_named(self.store, name)
        assert found is not None
        return found


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    config = parse_config(
        {
            "auditor": {"database_url": db_url},
            "web": {"trusted_proxies": ["10.0.0.0/8"]},
            "services": [SERVICE],
        },
        environ={},
    )
    store = Database(db_url)
    sync_config(store, config)
    for role in ("viewer", "operator", "admin"):
        create_user(store, username=role, role=role, password=PASSWORD)
    create_user(store, username="admin2", role="admin", password=PASSWORD)
    _, operator = create_token(store, name="operator", role="operator")
    _, admin = create_token(store, name="root", role="admin")
    app = create_app(config, store, test_config={"TESTING": True})
    try:
        yield Env(app, store, config, operator, admin)
    finally:
        store.close()


def attempt(
    env: Env,
    username: str,
    password: str = "wrong-password!",
    *,
    peer: str = STRANGER,
    headers: dict[str, str] | None = None,
) -> Any:
    """One sign-in POST as an attacker sends it: own double-submit CSRF pair, no cookie jar."""
    client = env.app.test_client(use_cookies=False)
    return client.post(
        "/login",
        data={"csrf_token": "t", "username": username, "password": password},
        headers={"Cookie": "auditor_login_csrf=t", **(headers or {})},
        environ_base={"REMOTE_ADDR": peer},
    )


def error_text(resp: Any) -> str:
    m = re.search(r'role="alert"[^>]*>([^<]+)<', resp.get_data(as_text=True))
    assert m, resp.get_data(as_text=True)[:500]
    return m.group(1).strip()


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def signed_in(env: Env, username: str) -> tuple[FlaskClient, str]:
    c = env.client()
    page = c.get("/login").get_data(as_text=True)
    data = {"username": username, "password": PASSWORD, "csrf_token": csrf_of(page)}
    assert c.post("/login", data=data).status_code == 302
    return c, csrf_of(c.get("/account").get_data(as_text=True))


def session_cookie(resp: Any) -> str:
    return next(c for c in resp.headers.getlist("Set-Cookie") if "auditor_session=" in c)


# -- the attacks --------------------------------------------------------------------------


def xff_spoof_from_untrusted_peer(env: Env) -> None:
    """A direct client rotates X-Forwarded-For to look like many sources: ignored."""
    for i in range(SOURCE_LIMIT):
        r = attempt(env, f"guess{i}", headers={"X-Forwarded-For": f"198.51.100.{i}"})
        assert r.status_code == 401
    r = attempt(env, "operator", PASSWORD, headers={"X-Forwarded-For": "198.51.100.250"})
    assert r.status_code == 429 and r.headers["Retry-After"]


def xff_from_trusted_proxy(env: Env) -> None:
    """Behind a trusted proxy each client is its own source; a client-written left-hand
    X-Forwarded-For entry does not change who it is."""
    for i in range(SOURCE_LIMIT):
        xff = f"6.6.6.{i}, 198.51.100.1"  # the proxy appended the real client, right-most
        assert (
            attempt(env, f"guess{i}", peer=PROXY, headers={"X-Forwarded-For": xff}).status_code
            == 401
        )
    blocked = attempt(
        env, "viewer", PASSWORD, peer=PROXY, headers={"X-Forwarded-For": "198.51.100.1"}
    )
    assert blocked.status_code == 429
    other = attempt(
        env, "viewer", PASSWORD, peer=PROXY, headers={"X-Forwarded-For": "198.51.100.2"}
    )
    assert other.status_code == 302  # another client behind the same proxy is not blocked


def plain_http_forged_proto(env: Env) -> None:
    """Over plain HTTP a stranger's X-Forwarded-Proto: https gets no Secure cookie."""
    r = attempt(env, "viewer", PASSWORD, headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 302
    cookie = session_cookie(r)
    assert cookie.startswith("auditor_session=") and "Secure" not in cookie


def trusted_proxy_https(env: Env) -> None:
    """Behind a TLS-terminating trusted proxy the session cookie is Secure (__Host-)."""
    r = attempt(env, "viewer", PASSWORD, peer=PROXY, headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 302
    cookie = session_cookie(r)
    assert cookie.startswith("__Host-auditor_session=") and "; Secure" in cookie


def rotating_sources_one_account(env: Env) -> None:
    """Password guessing against one account from a new address each time: locked."""
    for i in range(ACCOUNT_LIMIT):
        assert attempt(env, "operator", peer=f"203.0.113.{i + 10}").status_code == 401
    r = attempt(env, "operator", PASSWORD, peer="203.0.113.200")  # even the right password
    assert r.status_code == 429
    assert attempt(env, "viewer", PASSWORD, peer="203.0.113.201").status_code == 302


def rotating_usernames_one_source(env: Env) -> None:
    """One source sprays many usernames: blocked for every account after SOURCE_LIMIT."""
    for i in range(SOURCE_LIMIT):
        assert attempt(env, f"user{i}").status_code == 401
    assert attempt(env, "admin", PASSWORD).status_code == 429
    assert attempt(env, "admin", PASSWORD, peer="203.0.113.77").status_code == 302


def lockout_reveals_nothing(env: Env) -> None:
    """Locked-out existing and unknown usernames get the same status, text and wait."""
    wrong = [attempt(env, name, peer=f"203.0.113.{n}") for n, name in ((1, "admin"), (2, "nobody"))]
    assert {r.status_code for r in wrong} == {401}
    assert error_text(wrong[0]) == error_text(wrong[1])
    for i in range(ACCOUNT_LIMIT - 1):
        for name in ("admin", "nobody"):
            attempt(env, name, peer=f"198.51.100.{i}")
    locked = [attempt(env, name, peer=f"192.0.2.{n}") for n, name in ((1, "admin"), (2, "nobody"))]
    assert [r.status_code for r in locked] == [429, 429]
    assert error_text(locked[0]) == error_text(locked[1])
    waits = [int(r.headers["Retry-After"]) for r in locked]
    assert abs(waits[0] - waits[1]) <= 1


def _enrol_page(env: Env) -> tuple[FlaskClient, str, str, str]:
    c, csrf = signed_in(env, "operator")
    page = c.get("/account/totp").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page)
    sealed = re.search(r'name="enrolment" value="([^"]+)"', page)
    assert secret and sealed
    return c, csrf, secret.group(1), sealed.group(1)


def totp_client_chosen_secret(env: Env) -> None:
    """The form sends a secret the attacker knows: refused, two-factor stays off."""
    c, csrf, _, sealed = _enrol_page(env)
    mine = pyotp.random_base32()
    forged = {"csrf_token": csrf, "secret": mine, "code": pyotp.TOTP(mine).now()}
    for extra in ({}, {"enrolment": sealed, "password": PASSWORD}):
        r = c.post("/account/totp", data={**forged, **extra})
        assert r.status_code == 400 and "secret" in error_text(r)
    assert env.user("operator").totp_secret is None


def totp_without_password(env: Env) -> None:
    """A hijacked session enrols its own device: the current password is required."""
    c, csrf, secret, sealed = _enrol_page(env)
    form = {"csrf_token": csrf, "enrolment": sealed, "code": pyotp.TOTP(secret).now()}
    for password in ({}, {"password": "not-the-password"}):
        r = c.post("/account/totp", data={**form, **password})
        assert r.status_code == 400 and "password" in error_text(r)
    assert env.user("operator").totp_secret is None
    ok = c.post("/account/totp", data={**form, "password": PASSWORD})
    assert ok.status_code == 200 and env.user("operator").totp_secret  # the legitimate path


def totp_code_replay(env: Env) -> None:
    """A code seen once (the enrolment's, or a sign-in's) is refused inside its window."""
    c, csrf, secret, sealed = _enrol_page(env)
    totp = pyotp.TOTP(secret)
    enrol_code = totp.now()
    form = {"csrf_token": csrf, "enrolment": sealed, "password": PASSWORD, "code": enrol_code}
    assert c.post("/account/totp", data=form).status_code == 200

    def second_factor(code: str) -> int:
        fresh = env.client()
        page = fresh.get("/login").get_data(as_text=True)
        data = {"username": "operator", "password": PASSWORD, "csrf_token": csrf_of(page)}
        step = fresh.post("/login", data=data).headers["Location"]
        page = fresh.get(step).get_data(as_text=True)
        r = fresh.post("/login/totp", data={"csrf_token": csrf_of(page), "code": code})
        return int(r.status_code)

    assert second_factor(enrol_code) == 401
    next_code = totp.at(time.time() + totp.interval)  # the next step: inside the window
    assert second_factor(next_code) == 302
    assert second_factor(next_code) == 401


def expired_token(env: Env) -> None:
    """A token past its expiry is refused; the API gives new tokens the default TTL and
    refuses a lifetime beyond the maximum (and "never")."""
    _, stale = create_token(
        env.store, name="stale", role="operator", expires_at=utcnow() - timedelta(seconds=1)
    )
    r = env.api("GET", "/services", stale)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    made = env.api("POST", "/tokens", env.admin_token, json={"name": "ci", "role": "viewer"})
    assert made.status_code == 201
    expires = made.json["data"]["expires_at"]
    assert expires and str((utcnow() + timedelta(days=90)).date()) in expires
    far = (utcnow() + timedelta(days=3650)).isoformat()
    for body in ({"expires_at": far}, {"expires_at": None}):
        r = env.api(
            "POST", "/tokens", env.admin_token, json={"name": "x", "role": "viewer", **body}
        )
        if body["expires_at"] is None:  # null = the default lifetime, never "never"
            assert r.status_code == 201 and r.json["data"]["expires_at"]
        else:
            assert r.status_code == 422
            assert r.json["error"]["details"][0]["field"] == "expires_at"


def deleted_users_token(env: Env) -> None:
    """A token made in the dashboard dies with its creator (and so do tokens it made)."""
    c, csrf = signed_in(env, "admin2")
    page = c.post("/manage/tokens", data={"csrf_token": csrf, "name": "laptop", "role": "admin"})
    token = re.search(r'id="new-token">([^<]+)<', page.get_data(as_text=True))
    assert page.status_code == 200 and token
    child = env.api("POST", "/tokens", token.group(1), json={"name": "child", "role": "viewer"})
    assert child.status_code == 201
    assert env.api("GET", "/services", token.group(1)).status_code == 200
    gone = env.api("DELETE", f"/users/{env.user('admin2').id}", env.admin_token)
    assert gone.status_code == 200
    for plaintext in (token.group(1), child.json["data"]["token"]):
        assert env.api("GET", "/services", plaintext).status_code == 401
    with env.store.read() as s:
        rows = s.exec(select(ApiToken).where(ApiToken.name.in_(["laptop", "child"]))).all()  # type: ignore[attr-defined]
    assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    assert env.api("GET", "/services", env.operator_token).status_code == 200  # CLI token kept


def forged_signed_by_api(env: Env) -> None:
    """An operator token signs an attestation in someone else's name: 422 naming it."""
    svc = env.api("GET", "/services?name=payments-api", env.operator_token).json["data"][0]
    body = {"service_id": svc["id"], "item": "load testing completed", "comment": "done"}
    r = env.api("POST", "/attestations", env.operator_token, json={**body, "signed_by": "the-cto"})
    assert r.status_code == 422
    assert [d["field"] for d in r.json["error"]["details"]] == ["signed_by"]
    ok = env.api("POST", "/attestations", env.operator_token, json=body)
    assert ok.status_code == 201 and ok.json["data"]["signed_by"] == "token:operator"


def forged_signed_by_form(env: Env) -> None:
    """The dashboard form with an added signed_by field: the signer is the session user."""
    c, csrf = signed_in(env, "operator")
    form = {
        "csrf_token": csrf,
        "item": "load testing completed",
        "comment": "k6 run",
        "valid_days": "30",
        "signed_by": "the-cto",
    }
    assert c.post("/manage/services/payments-api/attest", data=form).status_code == 302
    with env.store.read() as s:
        rows = s.exec(select(Attestation)).all()
    assert [row.signed_by for row in rows] == ["operator"]


ATTACKS: list[Callable[[Env], None]] = [
    xff_spoof_from_untrusted_peer,
    xff_from_trusted_proxy,
    plain_http_forged_proto,
    trusted_proxy_https,
    rotating_sources_one_account,
    rotating_usernames_one_source,
    lockout_reveals_nothing,
    totp_client_chosen_secret,
    totp_without_password,
    totp_code_replay,
    expired_token,
    deleted_users_token,
    forged_signed_by_api,
    forged_signed_by_form,
]


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.__name__.replace("_", "-") for a in ATTACKS])
def test_attack_is_refused(env: Env, attack: Callable[[Env], None]) -> None:
    attack(env)


def test_a_legitimate_sign_in_still_works_and_clears_the_account_window(env: Env) -> None:
    for _ in range(ACCOUNT_LIMIT - 1):
        assert attempt(env, "viewer").status_code == 401
    assert attempt(env, "viewer", PASSWORD).status_code == 302
    for _ in range(ACCOUNT_LIMIT - 1):  # the window restarted after the success
        assert attempt(env, "viewer", peer="203.0.113.50").status_code == 401


# -- the same against the real daemon over HTTP ---------------------------------------------


@dataclass
class Daemon:
    base: str
    config: Path

    def token(self, *args: str) -> str:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "auditor",
                "token",
                "create",
                "--config",
                str(self.config),
                *args,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout.strip().splitlines()[-1]

    def login(self, username: str, password: str, **headers: str) -> httpx.Response:
        return httpx.post(
            self.base + "/login",
            data={"csrf_token": "t", "username": username, "password": password},
            cookies={"auditor_login_csrf": "t"},
            headers=headers,
            timeout=10,
        )


@pytest.fixture
def daemon(db_url: str, tmp_path: Path) -> Iterator[Daemon]:
    port = free_port()
    config = write_config(
        tmp_path / "config.toml",
        {"database_url": db_url, "listen": f"127.0.0.1:{port}"},
        [SERVICE],
        extra='\n[web]\ntrusted_proxies = ["10.0.0.0/8"]\ntoken_ttl = "30d"\n',
    )
    subprocess.run(
        [sys.executable, "-m", "auditor", "user", "create", "--config", str(config),
         "--username", "operator", "--role", "operator", "--password-stdin"],
        input=PASSWORD, text=True, check=True, capture_output=True,
    )  # fmt: skip
    log = tmp_path / "daemon.log"
    proc = start("serve", config, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: httpx.get(base + "/healthz", timeout=1).status_code == 200, 30)
        yield Daemon(base, config)
    finally:
        stop(proc)


def test_daemon_throttles_per_source_and_ignores_a_strangers_forwarded_for(
    daemon: Daemon,
) -> None:
    for i in range(SOURCE_LIMIT):
        r = daemon.login(f"guess{i}", "wrong-password!", **{"X-Forwarded-For": f"198.51.100.{i}"})
        assert r.status_code == 401
    r = daemon.login("operator", PASSWORD, **{"X-Forwarded-For": "198.51.100.99"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "Too many failed sign-in attempts" in r.text


def test_daemon_refuses_an_expired_token_and_keeps_a_never_expiring_cli_token(
    daemon: Daemon,
) -> None:
    forever = daemon.token("--role", "operator", "--name", "forever", "--expires", "never")
    default = daemon.token("--role", "admin", "--name", "default")
    short = daemon.token("--role", "operator", "--name", "short", "--expires", "5s")

    def status(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(daemon.base + "/api/v1/services", headers=headers, timeout=10).status_code

    assert status(short) == 200
    assert wait_for(lambda: status(short) == 401, 15)
    assert status(forever) == 200
    listed = httpx.get(
        daemon.base + "/api/v1/tokens",
        headers={"Authorization": f"Bearer {default}"},
        timeout=10,
    ).json()["data"]
    expiry = {t["name"]: t["expires_at"] for t in listed}
    assert expiry["forever"] is None
    assert str((utcnow() + timedelta(days=30)).date()) in expiry["default"]  # [web] token_ttl


@pytest.mark.parametrize(
    ("web", "problem"),
    [
        pytest.param({"trusted_proxies": ["10.0.0.0/33"]}, "web.trusted_proxies", id="bad-cidr"),
        pytest.param({"token_ttl": "400d"}, "token_ttl must not exceed", id="ttl-over-max"),
        pytest.param({"token_ttl": "0s"}, "web.token_ttl", id="zero-ttl"),
        pytest.param({"trusted": ["10.0.0.0/8"]}, "web.trusted", id="typo-key"),
    ],
)
def test_the_web_section_is_validated(web: dict[str, Any], problem: str) -> None:
    from auditor.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config({"web": web}, environ={})
    assert any(problem in line for line in caught.value.problems), caught.value.problems


def test_the_example_web_section_parses() -> None:
    config = parse_config(
        {"web": {"trusted_proxies": ["10.0.0.0/8", "127.0.0.1/32"], "token_ttl": "90d"}},
        environ={},
    )
    assert [str(n) for n in config.web.proxy_networks()] == ["10.0.0.0/8", "127.0.0.1/32"]
    assert (
        config.web.token_ttl == 90 * 86400
        and parse_config({}, environ={}).web.trusted_proxies == []
    )
