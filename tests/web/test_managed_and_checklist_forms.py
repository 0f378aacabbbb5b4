"""Server side of the dashboard forms (issue #23): config-defined rows are read-only, and an
attestation signs a checklist item of the service, never free text."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select

from auditor.store.models import Attestation, Check, Service, Waiver
from tests.web.conftest import Env
from web.context import CONFIG_KEY
from web.markup import code_spans
from web.nav import nav_attrs, section_of

CONFIG_FILE = "/etc/auditor/auditor.toml"


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


@pytest.fixture
def from_file(env: Env) -> Env:
    """The app as ``auditor serve --config /etc/auditor/auditor.toml`` has it."""
    env.app.extensions[CONFIG_KEY] = replace(env.config, path=CONFIG_FILE)
    return env


def _row(env: Env, model, **where):  # type: ignore[no-untyped-def]
    with env.store.read() as s:
        stmt = select(model)
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return s.exec(stmt).first()


def test_config_service_form_is_read_only_and_names_the_file(from_file: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, _csrf = operator
    html = text(c.get("/manage/services/payments-api/edit"))
    assert "Managed by the configuration file" in html and CONFIG_FILE in html
    assert '<fieldset class="plain" disabled' in html
    assert ">Save</button>" not in html


def test_posting_a_config_service_anyway_is_a_clear_409(from_file: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    resp = c.post(
        "/manage/services/payments-api/edit",
        data={
            "csrf_token": csrf,
            "name": "payments-api",
            "url": from_file.server.url,
            "owner": "x",
        },
    )
    assert resp.status_code == 409
    html = text(resp)
    assert "managed by the configuration file /etc/auditor/auditor.toml" in html
    assert "edit it in that file" in html and "Traceback" not in html
    svc = _row(from_file, Service, name="payments-api")
    assert svc.owner == "team-payments" and svc.enabled  # nothing changed


def test_posting_a_config_check_anyway_is_a_clear_409(from_file: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    chk = _row(from_file, Check, name="health")
    html = text(c.get(f"/manage/checks/{chk.id}/edit"))
    assert "Managed by the configuration file" in html and ">Save</button>" not in html
    resp = c.post(
        f"/manage/checks/{chk.id}/edit",
        data={"csrf_token": csrf, "name": "health", "interval": "1m", "options": 'path = "/x"'},
    )
    assert resp.status_code == 409 and "Check &#39;health&#39;" in text(resp)
    after = _row(from_file, Check, id=chk.id)
    assert after.interval_s == chk.interval_s and after.options == chk.options


def test_waivers_and_attestations_stay_allowed_on_config_rows(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    chk = _row(env, Check, name="health")
    resp = c.post(
        f"/manage/checks/{chk.id}/waive",
        data={"csrf_token": csrf, "reason": "upstream outage OPS-7", "expires": "3"},
    )
    assert resp.status_code == 302 and _row(env, Waiver, check_id=chk.id) is not None
    resp = c.post(
        "/manage/services/payments-api/attest",
        data={
            "csrf_token": csrf,
            "item": "load testing completed",
            "comment": "k6",
            "valid_days": "30",
        },
    )
    assert resp.status_code == 302 and _row(env, Attestation) is not None


def test_api_registered_service_stays_editable(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    form = {"csrf_token": csrf, "name": "web", "url": env.server.url, "enabled": "1"}
    assert c.post("/manage/services/new", data=form).status_code == 302
    html = text(c.get("/manage/services/web/edit"))
    assert "Managed by the configuration file" not in html and ">Save</button>" in html


def test_attestation_form_refuses_an_item_off_the_checklist(env: Env, operator) -> None:  # type: ignore[no-untyped-def]
    c, csrf = operator
    html = text(c.get("/manage/services/payments-api/attest"))
    assert '<select id="f-item" name="item"' in html
    assert '<option value="load testing completed" selected>' in html
    resp = c.post(
        "/manage/services/payments-api/attest",
        data={"csrf_token": csrf, "item": "load testing", "comment": "k6", "valid_days": "30"},
    )
    assert resp.status_code == 400
    assert "&#39;load testing&#39; is not a checklist item of this service" in text(resp)
    assert 'id="e-item"' in text(resp) and _row(env, Attestation) is None
    resp = c.post(  # a service without attestation checks has nothing to sign
        "/manage/services/search/attest",
        data={"csrf_token": csrf, "item": "anything", "comment": "x", "valid_days": "30"},
    )
    assert resp.status_code == 400 and "no attestation checks" in text(resp)


def test_code_spans_escape_first() -> None:
    assert str(code_spans("send `X-Frame-Options: DENY` once")) == (
        "send <code>X-Frame-Options: DENY</code> once"
    )
    hostile = code_spans("`<script>alert(1)</script>` and <img src=x onerror=y> `a")
    assert "<script>" not in hostile and "<img" not in hostile
    assert str(hostile).startswith("<code>&lt;script&gt;") and hostile.endswith("`a")
    assert str(code_spans(None)) == ""


def test_nav_sections() -> None:
    assert section_of("dashboard.service") == "overview"
    assert section_of("manage.check_edit") == "manage"
    assert section_of("manage.users") == "users" and section_of("manage.audit") == "audit"
    assert section_of(None) is None and section_of("auth.login") is None
    assert nav_attrs("overview", "dashboard.overview") == 'class="active" aria-current="page"'
    assert nav_attrs("overview", "dashboard.run") == 'class="active" aria-current="true"'
    assert nav_attrs("manage", "manage.users") == ""
