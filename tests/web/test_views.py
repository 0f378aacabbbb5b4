"""Flask test-client tests: every dashboard view, sign-in, sessions, CSRF and form errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from sqlmodel import select

from auditor.store.models import (
    Attestation,
    Check,
    CheckState,
    Rollup,
    Run,
    Service,
    User,
    Waiver,
    WebSession,
    utcnow,
)
from tests.web.conftest import PASSWORD, Env, csrf_of, login, record, signed_in
from web import SECURITY_HEADERS


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


# -- sign-in and sessions ----------------------------------------------------------------


def test_anonymous_is_sent_to_login(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/services/payments-api")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=/services/payments-api")


def test_login_page_has_security_headers_and_no_inline_script(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/login")
    assert resp.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers[name] == value
    html = text(resp)
    assert "<script>" not in html and "style=" not in html
    assert '<main id="main"' in html and 'for="f-username"' in html


def test_login_sets_a_hardened_server_side_session(env: Env, client) -> None:  # type: ignore[no-untyped-def]
    resp = login(client, "viewer")
    assert resp.status_code == 302
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("auditor_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with env.store.read() as s:
        rows = s.exec(select(WebSession)).all()
    assert len(rows) == 1 and rows[0].id != token and len(rows[0].id) == 64  # only the hash
    assert client.get("/").status_code == 200


def test_https_uses_host_prefixed_secure_cookie(env: Env) -> None:
    c = env.app.test_client()
    page = c.get("/login", base_url="https://localhost")
    resp = c.post(
        "/login",
        base_url="https://localhost",
        data={"username": "viewer", "password": PASSWORD, "csrf_token": csrf_of(text(page))},
    )
    cookie = next(
        x for x in resp.headers.getlist("Set-Cookie") if x.startswith("__Host-auditor_session=")
    )
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_and_missing_fields(client) -> None:  # type: ignore[no-untyped-def]
    resp = login(client, "viewer", "nope nope nope")
    assert resp.status_code == 401 and "Wrong username or password" in text(resp)
    resp = login(client, "ghost", "whatever-whatever")
    assert resp.status_code == 401
    token = csrf_of(text(client.get("/login")))
    resp = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert resp.status_code == 400 and "Enter your username" in text(resp)


def test_login_form_needs_its_csrf_token(client) -> None:  # type: ignore[no-untyped-def]
    client.get("/login")
    resp = client.post("/login", data={"username": "viewer", "password": PASSWORD})
    assert resp.status_code == 400


def test_login_is_rate_limited_per_user_and_address(client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        assert login(client, "viewer", "wrong password!!").status_code == 401
    resp = login(client, "viewer", PASSWORD)
    assert resp.status_code == 429 and "Retry-After" in resp.headers
    assert login(client, "operator").status_code == 302  # another user is not locked out


def test_open_redirect_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_of(text(client.get("/login")))
    resp = client.post(
        "/login",
        data={
            "username": "viewer",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert resp.headers["Location"] == "/"


def test_logout_revokes_the_session(env: Env, viewer) -> None:  # type: ignore[no-untyped-def]
    c, csrf = viewer
    cookie = c.get_cookie("auditor_session")
    assert c.post("/logout", data={"csrf_token": csrf}).status_code == 302
    c.set_cookie("auditor_session", cookie.value)  # replaying the old cookie does not work
    assert c.get("/").status_code == 302


def test_password_change_ends_every_session(env: Env) -> None:
    a, csrf = signed_in(env, "viewer")
    b, _ = signed_in(env, "viewer")
    resp = a.post(
        "/account",
        data={
            "csrf_token": csrf,
            "current_password": "wrong",
            "new_password": "short",
            "confirm": "other",
        },
    )
    assert resp.status_code == 400
    html = text(resp)
    assert "The current password is wrong." in html
    assert "Use at least 12 characters." in html and "The two passwords differ." in html
    resp = a.post(
        "/account",
        data={
            "csrf_token": csrf,
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert resp.status_code == 302
    assert b.get("/").status_code == 302  # the other session is gone
    assert a.get("/account?done=password").status_code == 200  # this one got a fresh session
    assert "Password changed" in text(a.get("/account?done=password"))


def test_totp_enrolment_login_and_recovery_code(env: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AUDITOR_SECRET_KEY", Fernet.generate_key().decode())
    c, csrf = signed_in(env, "viewer")
    page = text(c.get("/account/totp"))
    assert 'src="data:image/svg+xml' in page  # QR code rendered server-side
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)  # type: ignore[union-attr]
    sealed = re.search(r'name="enrolment" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": csrf, "enrolment": sealed, "password": PASSWORD}
    bad = c.post("/account/totp", data={**form, "code": "000000"})
    assert bad.status_code == 400 and "does not match" in text(bad)
    ok = c.post("/account/totp", data={**form, "code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", text(ok))
    assert len(codes) == 10
    with env.store.read() as s:
        user = s.exec(select(User).where(User.username == "viewer")).one()
    assert user.totp_secret and secret not in user.totp_secret  # encrypted at rest
    assert codes[0] not in user.recovery_codes  # hashed

    fresh = env.app.test_client()
    resp = login(fresh, "viewer")
    assert resp.headers["Location"].startswith("/login/totp")
    assert fresh.get("/").status_code == 302  # half-signed-in is not signed in
    page = text(fresh.get(resp.headers["Location"]))
    wrong = fresh.post("/login/totp", data={"csrf_token": csrf_of(page), "code": "123456"})
    assert wrong.status_code == 401
    good = fresh.post("/login/totp", data={"csrf_token": csrf_of(page), "code": codes[0]})
    assert good.status_code == 302 and fresh.get("/").status_code == 200

    again = env.app.test_client()
    resp = login(again, "viewer")
    page = text(again.get(resp.headers["Location"]))
    reused = again.post("/login/totp", data={"csrf_token": csrf_of(page), "code": codes[0]})
    assert reused.status_code == 401  # a recovery code works once


def test_totp_without_secret_key_is_refused_cleanly(env: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AUDITOR_SECRET_KEY", raising=False)
    c, csrf = signed_in(env, "viewer")
    resp = c.get("/account/totp")
    assert resp.status_code == 400 and "AUDITOR_SECRET_KEY" in text(resp)
    resp = c.post(
        "/account/totp", data={"csrf_token": csrf, "password": PASSWORD, "code": "123456"}
    )
    assert resp.status_code == 400 and "AUDITOR_SECRET_KEY" in text(resp)


def test_anonymous_read_switch(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import make_config
    from web import create_app

    config = make_config(env.config.auditor.database_url, env.server.url, anonymous_read=True)
    app = create_app(config, env.store, test_config={"TESTING": True})
    c = app.test_client()
    assert c.get("/").status_code == 200
    assert c.get("/services/payments-api").status_code == 200
    assert c.get("/manage/").status_code == 302  # writing still needs a sign-in


# -- overview ----------------------------------------------------------------------------


def test_overview_matrix_counts_and_worst_first(viewer) -> None:  # type: ignore[no-untyped-def]
    c, _ = viewer
    html = text(c.get("/"))
    assert html.index("payments-api") < html.index(">search<")  # the failing one first
    assert 'class="count v-not_ready"' in html
    assert re.search(
        r'<span class="n">1</span> <span class="icon" aria-hidden="true">✗</span> Not ready', html
    )
    assert "s-fail" in html and "s-pass" in html
    assert '<th scope="col" class="kind">health</th>' in html
    assert 'src="/static/overview.js"' in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("environment=staging", "search", "payments-api"),
        ("owner=team-payments", "payments-api", ">search<"),
        ("tag=tier-2", "search", "payments-api"),
        ("state=fail", "payments-api", ">search<"),
        ("verdict=not_ready", "payments-api", ">search<"),
        ("q=payments", "payments-api", ">search<"),
        ("q=nothing-matches", "No services match", "payments-api</a>"),
    ],
)
def test_overview_filters(viewer, query, shown, hidden) -> None:  # type: ignore[no-untyped-def]
    c, _ = viewer
    html = text(c.get("/overview/live?" + query))
    assert shown in html
    assert hidden not in html


def test_overview_sorting_and_bad_params(viewer) -> None:  # type: ignore[no-untyped-def]
    c, _ = viewer
    html = text(c.get("/?sort=name&page=zz&state=bogus"))
    assert html.index("payments-api</a>") < html.index("search</a>")
    assert c.get("/?sort=score").status_code == 200


def test_overview_fragment_is_only_the_live_part(viewer) -> None:  # type: ignore[no-untyped-def]
    c, _ = viewer
    html = text(c.get("/overview/live?environment=production"))
    assert "<html" not in html and 'class="matrix"' in html and "search</a>" not in html


def test_overview_never_reads_run_history(env: Env, viewer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    seen: list[str] = []

    def spy(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        seen.append(statement)

    sa.event.listen(env.store.engine, "before_cursor_execute", spy)
    try:
        c, _ = viewer
        assert c.get("/").status_code == 200
    finally:
        sa.event.remove(env.store.engine, "before_cursor_execute", spy)
    assert seen and not any(re.search(r"\bFROM run\b", s) for s in seen)


def test_overview_with_many_services_is_fast(env: Env, viewer) -> None:
    import time

    now = utcnow()
    with env.store.write() as s:
        for i in range(300):
            svc = Service(name=f"bulk-{i:04d}", url="http://127.0.0.1:9", source="api")
            s.add(svc)
            s.flush()
            for kind in ("health", "tls", "headers"):
                chk = Check(service_id=svc.id, name=kind, kind=kind, source="api")
                s.add(chk)
                s.flush()
                s.add(
                    CheckState(
                        check_id=chk.id,
                        service_id=svc.id,
                        state="pass" if i % 3 else "fail",
                        last_run_at=now,
                    )
                )
    c, _ = viewer
    t0 = time.perf_counter()
    resp = c.get("/")
    assert resp.status_code == 200
    assert time.perf_counter() - t0 < 3.0
    assert "Page 1 of 2" in text(resp)


# -- service and run pages ----------------------------------------------------------------


def test_service_page_breakdown_findings_charts_and_transitions(viewer) -> None:  # type: ignore[no-untyped-def]
    c, _ = viewer
    html = text(c.get("/services/payments-api"))
    assert "Not ready" in html
    assert "health.status" in html and "What to do:" in html
    assert '<svg class="timeline"' in html and '<svg class="sparkline"' in html
    assert "Uptime 24h" in html
    assert "Recent transitions" in html
    assert "attestation" in html
    assert "Run now" not in html  # viewers get no operator actions


def test_service_page_ranges_use_rollups_when_present(env: Env, viewer) -> None:  # type: ignore[no-untyped-def]
    c, _ = viewer
    html = text(c.get("/services/payments-api?range=7d"))
    assert "no roll-ups yet" in html  # falls back to the bounded raw query
    with env.store.read() as s:
        chk = s.exec(select(Check).where(Check.name == "ready")).first()
    now = utcnow()
    with env.store.write() as s:
        for d in range(1, 20):
            s.add(
                Rollup(
                    check_id=chk.id,  # type: ignore[union-attr]
                    period="day",
                    bucket_start=(now - timedelta(days=d)).replace(
                        hour=0, minute=0, second=0, microsecond=0
                    ),
                    count_pass=280,
                    count_fail=8,
                    duration_ms_sum=288 * 12.0,
                    duration_ms_max=40.0,
                )
            )
    html = text(c.get("/services/payments-api?range=30d"))
    assert "no roll-ups yet" not in html
    assert "280 pass" in html


def test_service_page_tiles(env: Env, viewer) -> None:  # type: ignore[no-untyped-def]
    from auditor.store.models import new_id

    now = utcnow()
    with env.store.write() as s:
        svc = s.exec(select(Service).where(Service.name == "search")).one()
        for kind, metrics in (
            ("tls", {"not_after_ts": (now + timedelta(days=12)).timestamp(), "days_left": 12}),
            ("headers", {"score": 105, "grade": "A+"}),
        ):
            cid = new_id()
            s.add(Check(id=cid, service_id=svc.id, name=kind, kind=kind, source="api"))
            s.add(
                CheckState(
                    check_id=cid, service_id=svc.id, state="pass", last_run_at=now, metrics=metrics
                )
            )
    c, _ = viewer
    html = text(c.get("/services/search"))
    assert "Certificate expires" in html and "12 days" in html and "tl-warn" in html
    assert "Security headers" in html and "A+" in html


def test_unknown_service_and_run_are_404(viewer) -> None:  # type: ignore[no-untyped-def]
    c, _ = viewer
    assert c.get("/services/nope").status_code == 404
    resp = c.get("/runs/00000000-0000-0000-0000-000000000000")
    assert resp.status_code == 404 and "No such run" in text(resp)


def test_run_page_shows_the_full_result(env: Env, viewer) -> None:  # type: ignore[no-untyped-def]
    record(
        env.store,
        "search",
        "health",
        "fail",
        findings=(("health.condition", "high", "[BODY].status == ok failed"),),
        facts={
            "status": 200,
            "elapsed_ms": 31.5,
            "conditions": [
                {"condition": "[BODY].status == ok", "success": False, "display": "down == ok"}
            ],
        },
    )
    with env.store.read() as s:
        run = s.exec(
            select(Run).where(Run.status == "fail").order_by(Run.started_at.desc())
        ).first()  # type: ignore[attr-defined]
    c, _ = viewer
    html = text(c.get(f"/runs/{run.id}"))  # type: ignore[union-attr]
    assert "Conditions" in html and "down == ok" in html
    assert "health.condition" in html and "elapsed" in html and "31.5" in html
    assert (
        "&#34;elapsed_ms&#34;" in html or "&quot;elapsed_ms&quot;" in html or '"elapsed_ms"' in html
    )


def test_run_page_error_kind(env: Env, viewer) -> None:  # type: ignore[no-untyped-def]
    record(env.store, "search", "health", "error")
    with env.store.read() as s:
        run = s.exec(select(Run).where(Run.status == "error")).first()
    c, _ = viewer
    html = text(c.get(f"/runs/{run.id}"))  # type: ignore[union-attr]
    assert "Error kind" in html and "connect" in html


# -- manage: roles and CSRF ----------------------------------------------------------------


def test_viewer_cannot_manage(viewer) -> None:  # type: ignore[no-untyped-def]
    c, csrf = viewer
    assert c.get("/manage/").status_code == 403
    assert c.post("/manage/services/new", data={"csrf_token": csrf}).status_code == 403
    assert c.get("/manage/users").status_code == 403


def test_operator_is_not_admin(operator) -> None:  # type: ignore[no-untyped-def]
    c, _ = operator
    assert c.get("/manage/").status_code == 200
    assert c.get("/manage/users").status_code == 403
    assert c.get("/manage/tokens").status_code == 403


def test_posts_without_csrf_are_refused(operator) -> None:  # type: ignore[no-untyped-def]
    c, _ = operator
    resp = c.post("/manage/services/new", data={"name": "x", "url": "https://x.example"})
    assert resp.status_code == 400 and "did not come from this site" in text(resp)


# -- manage: services ------------------------------------------------------------------------


def test_service_form_errors_per_field(operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    resp = c.post(
        "/manage/services/new",
        data={"csrf_token": csrf, "name": "Bad Name", "url": "ftp://nope", "enabled": "1"},
    )
    assert resp.status_code == 400
    html = text(resp)
    assert re.search(r'id="e-name">must be a lowercase slug', html)
    assert re.search(r'id="e-url">must be an absolute http', html)
    resp = c.post(
        "/manage/services/new",
        data={"csrf_token": csrf, "name": "search", "url": "https://s.example", "enabled": "1"},
    )
    assert resp.status_code == 400 and "another service already has this name" in text(resp)


def test_register_service_with_production_profile(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    resp = c.post(
        "/manage/services/new",
        data={
            "csrf_token": csrf,
            "name": "billing",
            "url": "https://billing.example.com/",
            "environment": "production",
            "owner": "team-billing",
            "tags": "tier-1, pci",
            "profile": "production",
            "enabled": "1",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/services/billing")
    with env.store.read() as s:
        svc = s.exec(select(Service).where(Service.name == "billing")).one()
        checks = s.exec(select(Check).where(Check.service_id == svc.id)).all()
        states = s.exec(select(CheckState).where(CheckState.service_id == svc.id)).all()
    assert svc.source == "api" and svc.tags == ["tier-1", "pci"]
    assert {c.kind for c in checks} >= {"tls", "headers", "redirect", "health", "evidence"}
    assert all(c.source == "api" and c.next_run_at is not None for c in checks)
    assert len(states) == len(checks)


def test_edit_and_disable_service(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    registered = {"csrf_token": csrf, "name": "web", "url": env.server.url, "enabled": "1"}
    assert (
        c.post("/manage/services/new", data={**registered, "owner": "team-web"}).status_code == 302
    )
    assert (
        c.post(
            "/manage/services/web/checks/new",
            data={"csrf_token": csrf, "kind": "health", "enabled": "1"},
        ).status_code
        == 302
    )
    page = text(c.get("/manage/services/web/edit"))
    assert 'value="team-web"' in page and "Managed by the configuration file" not in page
    resp = c.post(
        "/manage/services/web/edit",
        data={"csrf_token": csrf, "name": "web", "url": "", "environment": "staging"},
    )
    assert resp.status_code == 400 and 'id="e-url"' in text(resp)
    resp = c.post(
        "/manage/services/web/edit",
        data={"csrf_token": csrf, "name": "web", "url": env.server.url, "owner": "new-owner"},
    )
    assert resp.status_code == 302
    with env.store.read() as s:
        svc = s.exec(select(Service).where(Service.name == "web")).one()
        chk = s.exec(select(Check).where(Check.service_id == svc.id)).one()
    assert svc.owner == "new-owner" and not svc.enabled and not chk.enabled
    assert c.get("/manage/services/nope/edit").status_code == 404


# -- manage: checks --------------------------------------------------------------------------


def test_check_form_errors_per_field(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    assert c.get("/manage/services/search/checks/new").status_code == 200
    resp = c.post(
        "/manage/services/search/checks/new",
        data={
            "csrf_token": csrf,
            "kind": "health",
            "name": "Bad Name",
            "interval": "-5m",
            "failure_threshold": "x",
            "options": "path = /no-quotes",
        },
    )
    assert resp.status_code == 400
    html = text(resp)
    assert 'id="e-name"' in html and 'id="e-failure_threshold"' in html
    assert 'id="e-options">not valid TOML' in html
    resp = c.post(
        "/manage/services/search/checks/new",
        data={"csrf_token": csrf, "kind": "health", "name": "h2", "options": "nosuch = 1"},
    )
    assert resp.status_code == 400 and re.search(r'id="e-options">nosuch: unknown key', text(resp))
    resp = c.post(
        "/manage/services/search/checks/new",
        data={"csrf_token": csrf, "kind": "health", "name": "health", "enabled": "1"},
    )
    assert "already has a check named" in text(resp)
    resp = c.post(
        "/manage/services/search/checks/new",
        data={
            "csrf_token": csrf,
            "kind": "health",
            "timeout": "10m",
            "interval": "1m",
            "name": "slow",
        },
    )
    assert re.search(r'id="e-timeout">must not exceed the interval', text(resp))


def test_check_form_refuses_literal_secrets(operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    resp = c.post(
        "/manage/services/search/checks/new",
        data={
            "csrf_token": csrf,
            "kind": "health",
            "name": "authed",
            "enabled": "1",
            "options": 'headers = { Authorization = "Bearer s3cret" }',
        },
    )
    assert resp.status_code == 400 and "never stored in plain text" in text(resp)


def test_add_and_edit_a_check(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    resp = c.post(
        "/manage/services/search/checks/new",
        data={
            "csrf_token": csrf,
            "kind": "health",
            "name": "deep",
            "interval": "1m",
            "severity": "critical",
            "level": "silver",
            "enabled": "1",
            "options": 'path = "/ok"\nconditions = ["[STATUS] == 200"]',
        },
    )
    assert resp.status_code == 302
    with env.store.read() as s:
        chk = s.exec(select(Check).where(Check.name == "deep")).one()
        st = s.get(CheckState, chk.id)
    assert chk.source == "api" and chk.interval_s == 60 and chk.severity == "critical"
    assert chk.options == {"path": "/ok", "conditions": ["[STATUS] == 200"]}
    assert st is not None and chk.next_run_at is not None
    page = text(c.get(f"/manage/checks/{chk.id}/edit"))
    assert "path = &#34;/ok&#34;" in page or 'path = "/ok"' in page
    resp = c.post(
        f"/manage/checks/{chk.id}/edit",
        data={"csrf_token": csrf, "name": "deep", "interval": "2m", "options": 'path = "/ok"'},
    )
    assert resp.status_code == 302
    with env.store.read() as s:
        chk2 = s.get(Check, chk.id)
    assert chk2 is not None and chk2.interval_s == 120 and not chk2.enabled
    assert c.get("/manage/checks/nope/edit").status_code == 404


def test_run_now_changes_the_state(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    with env.store.read() as s:
        chk = s.exec(
            select(Check).where(
                Check.name == "health",
                Check.service_id
                == s.exec(select(Service.id).where(Service.name == "payments-api")).one(),
            )
        ).one()
        assert s.get(CheckState, chk.id).state == "fail"  # type: ignore[union-attr]
    env.server.healthy = True
    resp = c.post(f"/manage/checks/{chk.id}/run", data={"csrf_token": csrf})
    assert resp.status_code == 302 and "done=run" in resp.headers["Location"]
    with env.store.read() as s:
        assert s.get(CheckState, chk.id).state == "pass"  # type: ignore[union-attr]
    assert "Check run finished" in text(c.get(resp.headers["Location"]))


def test_run_now_on_a_disabled_check_is_409(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    with env.store.write() as s:
        chk = s.exec(select(Check).where(Check.name == "ready")).one()
        chk.enabled = False
        s.add(chk)
    assert c.post(f"/manage/checks/{chk.id}/run", data={"csrf_token": csrf}).status_code == 409


# -- manage: waivers, attestations, acknowledgements ----------------------------------------


def _check_id(env: Env, name: str) -> str:
    with env.store.read() as s:
        return s.exec(select(Check.id).where(Check.name == name)).first()  # type: ignore[return-value]


def test_waiver_form_errors_and_success(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    cid = _check_id(env, "health")
    assert c.get(f"/manage/checks/{cid}/waive").status_code == 200
    resp = c.post(
        f"/manage/checks/{cid}/waive", data={"csrf_token": csrf, "reason": "", "expires": "10"}
    )
    assert resp.status_code == 400 and 'id="e-reason"' in text(resp)
    resp = c.post(
        f"/manage/checks/{cid}/waive", data={"csrf_token": csrf, "reason": "x", "expires": "400"}
    )
    assert resp.status_code == 400 and re.search(
        r'id="e-expires">a waiver may last at most 90', text(resp)
    )
    resp = c.post(
        f"/manage/checks/{cid}/waive", data={"csrf_token": csrf, "reason": "x", "expires": "soon"}
    )
    assert resp.status_code == 400 and "number of days or a date" in text(resp)
    resp = c.post(
        f"/manage/checks/{cid}/waive",
        data={"csrf_token": csrf, "reason": "vendor outage OPS-42", "expires": "7"},
    )
    assert resp.status_code == 302
    html = text(c.get("/services/payments-api"))
    assert "Waived by operator" in html and "vendor outage OPS-42" in html
    assert "waived — currently failing" in html
    assert c.post(f"/manage/checks/{cid}/unwaive", data={"csrf_token": csrf}).status_code == 302
    with env.store.read() as s:
        assert all(w.deleted_at is not None for w in s.exec(select(Waiver)).all())


def test_attestation_form_errors_and_success(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    page = text(c.get("/manage/services/payments-api/attest"))
    assert "load testing completed" in page
    resp = c.post(
        "/manage/services/payments-api/attest",
        data={
            "csrf_token": csrf,
            "item": "",
            "evidence_url": "javascript:alert(1)",
            "comment": "",
            "valid_days": "0",
        },
    )
    assert resp.status_code == 400
    html = text(resp)
    for name in ("item", "evidence_url", "comment", "valid_days"):
        assert f'id="e-{name}"' in html
    resp = c.post(
        "/manage/services/payments-api/attest",
        data={
            "csrf_token": csrf,
            "item": "load testing completed",
            "evidence_url": "https://wiki.example/load-test",
            "comment": "k6 at 2x peak, p99 < 300 ms",
            "valid_days": "90",
        },
    )
    assert resp.status_code == 302
    with env.store.read() as s:
        att = s.exec(select(Attestation)).one()
    assert att.signed_by == "operator" and att.expires_at is not None
    html = text(c.get("/services/payments-api?done=attested"))
    assert "Attestation signed" in html and "Attested by operator" in html


def test_acknowledge(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    from auditor.store.models import AlertState, Transition

    c, csrf = operator
    with env.store.write() as s:
        tr = s.exec(select(Transition).where(Transition.state == "fail")).first()
        assert tr is not None
        s.add(AlertState(check_id=tr.check_id, receiver="ops", firing=True))
    resp = c.post(f"/manage/transitions/{tr.id}/ack", data={"csrf_token": csrf})
    assert resp.status_code == 302
    assert "acknowledged by operator" in text(c.get("/services/payments-api"))
    assert c.post("/manage/transitions/nope/ack", data={"csrf_token": csrf}).status_code == 404


# -- admin ------------------------------------------------------------------------------------


def test_users_admin(env: Env, admin) -> None:  # type: ignore[no-untyped-def]
    c, csrf = admin
    resp = c.post(
        "/manage/users",
        data={"csrf_token": csrf, "username": "a b", "role": "root", "password": "x"},
    )
    assert resp.status_code == 400
    html = text(resp)
    assert 'id="e-username"' in html and 'id="e-role"' in html and 'id="e-password"' in html
    resp = c.post(
        "/manage/users",
        data={"csrf_token": csrf, "username": "viewer", "role": "viewer", "password": PASSWORD},
    )
    assert resp.status_code == 400 and "already exists" in text(resp)
    resp = c.post(
        "/manage/users",
        data={"csrf_token": csrf, "username": "carol", "role": "operator", "password": PASSWORD},
    )
    assert resp.status_code == 302
    other, _ = signed_in(env, "carol")
    with env.store.read() as s:
        carol = s.exec(select(User).where(User.username == "carol")).one()
        me = s.exec(select(User).where(User.username == "admin")).one()
    resp = c.post(
        f"/manage/users/{carol.id}/update",
        data={"csrf_token": csrf, "action": "role", "role": "viewer"},
    )
    assert resp.status_code == 302
    assert other.get("/").status_code == 302  # role change ended carol's sessions
    resp = c.post(f"/manage/users/{me.id}/update", data={"csrf_token": csrf, "action": "delete"})
    assert resp.status_code == 400
    resp = c.post(f"/manage/users/{carol.id}/update", data={"csrf_token": csrf, "action": "delete"})
    assert resp.status_code == 302
    assert login(env.app.test_client(), "carol").status_code == 401


def test_tokens_admin(env: Env, admin) -> None:  # type: ignore[no-untyped-def]
    from auditor.store.accounts import verify_token
    from auditor.store.models import ApiToken

    c, csrf = admin
    resp = c.post(
        "/manage/tokens", data={"csrf_token": csrf, "name": "", "role": "god", "expires_days": "-1"}
    )
    assert resp.status_code == 400
    html = text(resp)
    assert 'id="e-name"' in html and 'id="e-role"' in html and 'id="e-expires_days"' in html
    resp = c.post(
        "/manage/tokens",
        data={"csrf_token": csrf, "name": "ci-gate", "role": "viewer", "expires_days": "30"},
    )
    plaintext = re.search(r'id="new-token">([^<]+)<', text(resp)).group(1)  # type: ignore[union-attr]
    assert verify_token(env.store, plaintext) is not None
    assert plaintext not in text(c.get("/manage/tokens"))  # shown once
    with env.store.read() as s:
        tok = s.exec(select(ApiToken)).one()
    assert c.post(f"/manage/tokens/{tok.id}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert verify_token(env.store, plaintext) is None


def test_static_assets_are_served_locally(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/static/app.css", "/static/overview.js", "/static/favicon.svg"):
        assert client.get(path).status_code == 200
    css = text(client.get("/static/app.css"))
    assert "prefers-color-scheme: dark" in css and "http" not in css.replace("https", "")


def test_overview_is_rendered_once_for_many_viewers_and_anew_after_an_edit(
    env: Env, viewer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from web import dashboard

    c, _ = viewer
    env.app.extensions.pop("auditor.overview_cache", None)  # signing in showed the page already
    calls = []
    real = dashboard._overview_context
    monkeypatch.setattr(dashboard, "_overview_context", lambda: calls.append(1) or real())
    first = text(c.get("/overview/live"))
    assert text(c.get("/overview/live")) == first and text(c.get("/")) and len(calls) == 1
    with env.store.write() as s:  # an edit in this process: the next view renders anew
        svc = s.exec(select(Service).where(Service.name == "search")).one()
        svc.owner = "team-renamed"
        s.add(svc)
    assert "team-renamed" in text(c.get("/overview/live")) and len(calls) == 2


def test_a_stale_overview_is_served_at_once_while_one_thread_renders_it_anew(
    env: Env, viewer, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    from web import dashboard

    c, _ = viewer
    env.app.extensions.pop("auditor.overview_cache", None)
    first = text(c.get("/overview/live"))
    with env.store.write(background=True) as s:  # a worker batch: no immediate invalidation
        svc = s.exec(select(Service).where(Service.name == "search")).one()
        svc.owner = "team-from-worker"
        s.add(svc)
    monkeypatch.setattr(dashboard, "OVERVIEW_TTL_S", 0.0)  # the last render is stale at once
    started, release = threading.Event(), threading.Event()
    renders = []
    real = dashboard._overview_context

    def slow_render():  # type: ignore[no-untyped-def]
        renders.append(threading.current_thread().name)
        started.set()
        assert release.wait(10)
        return real()

    monkeypatch.setattr(dashboard, "_overview_context", slow_render)
    # two viewers while the render is held: both get the last render at once, one render runs
    assert text(c.get("/overview/live")) == first
    assert started.wait(5)
    assert text(c.get("/overview/live")) == first
    assert renders == ["overview-refresh"]
    release.set()
    deadline = time.monotonic() + 10
    while "team-from-worker" not in text(c.get("/overview/live")):
        assert time.monotonic() < deadline, "the background render never replaced the page"
        time.sleep(0.05)
    # past the stale window the viewer waits for a fresh render instead
    monkeypatch.setattr(dashboard, "OVERVIEW_STALE_S", 0.0)
    cache = env.app.extensions[dashboard.CACHE_KEY]
    while any(entry.refreshing for entry in cache.values()):  # the polls above started some
        assert time.monotonic() < deadline
        time.sleep(0.05)
    before = len(renders)
    assert "team-from-worker" in text(c.get("/overview/live"))
    assert renders[before:][:1] == [threading.current_thread().name]
