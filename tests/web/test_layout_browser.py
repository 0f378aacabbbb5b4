"""What an operator sees, in real headless Chromium (issue #23, layout and forms).

Each test drives the app under waitress (fixtures of ``test_e2e_browser``) and asserts what
the browser renders: computed styles, element geometry, the accessibility attributes.
Screenshots land in ``tests/artifacts/`` (CI artifacts).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from auditor.store.check_admin import add_check
from auditor.store.models import Attestation, Check, utcnow
from auditor.store.oversight import add_attestation
from auditor.store.service_admin import service_named
from tests.web.conftest import PASSWORD, Env, record, signed_in
from tests.web.test_e2e_browser import ARTIFACTS, live_url, page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def pg(page: Any) -> Any:  # noqa: F811  (the imported fixture, by name)
    """The signed-out Chromium page of ``test_e2e_browser`` (console errors fail the test)."""
    return page


BACKTICK_FINDING = (
    "headers.missing",
    "medium",
    "X-Frame-Options is missing; send `X-Frame-Options: DENY` <b>exactly</b> once",
)
LONG_SUMMARY = (
    "applied 41 of 41 migrations; newest 2026_12_03_1200_add_index_on_payments_created_at "
    "(alembic head 9f8e7d6c5b4a) matches the deployed release"
)


def _sign_in(pg: Any, username: str) -> None:
    pg.goto("/login")
    pg.get_by_label("Username").fill(username)
    pg.get_by_label("Password").fill(PASSWORD)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url("**/")


def _register(env: Env, name: str, **form: str) -> None:
    """A service registered through the dashboard form (``source = "api"``)."""
    c, csrf = signed_in(env, "operator")
    data = {"csrf_token": csrf, "name": name, "url": env.server.url, "enabled": "1", **form}
    assert c.post("/manage/services/new", data=data).status_code == 302
    if "profile" not in form:
        check = {"csrf_token": csrf, "kind": "health", "enabled": "1", "options": 'path = "/ok"'}
        assert c.post(f"/manage/services/{name}/checks/new", data=check).status_code == 302


def _migrations_check(env: Env, service: str) -> None:
    """A config-style migrations check with a long summary (a tile on the service page)."""
    svc = service_named(env.store, service)
    assert svc is not None
    now = utcnow()

    def make(live: Any, _taken: Any) -> Check:
        return Check(
            service_id=live.id,
            name="migrations",
            kind="migrations",
            source="config",
            enabled=True,
            options={},
            next_run_at=now + timedelta(days=1),
        )

    add_check(env.store, svc.id, make, now)
    record(env.store, service, "migrations", "pass", summary=LONG_SUMMARY)


def test_matrix_keeps_every_column_reachable_at_900px(env: Env, pg: Any) -> None:
    _register(env, "billing-platform-eu-west", profile="production", owner="team-billing")
    _sign_in(pg, "viewer")
    pg.set_viewport_size({"width": 900, "height": 800})
    pg.goto("/")
    headers = pg.locator("table.matrix thead th")
    names = [h.strip().lower() for h in headers.all_inner_texts()]
    assert {"tls", "headers", "redirect", "exposure", "health", "attestation"} <= set(names)
    pg.screenshot(path=str(ARTIFACTS / "overview-900.png"), full_page=True)
    # the page itself does not scroll sideways: the matrix does, inside its frame
    assert pg.evaluate("document.documentElement.scrollWidth") <= 900
    wrap = pg.locator("#live .table-wrap")
    frame = wrap.bounding_box()
    assert frame is not None and frame["x"] >= 0 and frame["x"] + frame["width"] <= 900
    for i in range(headers.count()):
        th = headers.nth(i)
        th.scroll_into_view_if_needed()
        box = th.bounding_box()
        frame = wrap.bounding_box()
        assert box is not None and frame is not None, names[i]
        assert box["x"] >= frame["x"] - 1, names[i]
        assert box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, names[i]
        assert th.is_visible(), names[i]
    assert wrap.evaluate("e => e.scrollLeft") > 0  # the last columns needed the scroll
    # the service column stays in view while the kinds scroll under it
    first = pg.locator("table.matrix tbody th.svc").first.bounding_box()
    assert first is not None and first["x"] >= frame["x"] - 1
    pg.emulate_media(color_scheme="dark")
    pg.screenshot(path=str(ARTIFACTS / "overview-900-dark.png"))


def test_checkbox_fields_look_like_checkboxes(env: Env, pg: Any) -> None:
    _sign_in(pg, "operator")
    pg.goto("/manage/services/new")
    box = pg.get_by_label("Enabled (checks run)")
    assert box.get_attribute("type") == "checkbox" and box.is_checked()
    style = box.evaluate(
        "e => { const s = getComputedStyle(e); return [s.appearance, s.width, s.height]; }"
    )
    assert style[0] == "auto" and style[1] == style[2] and float(style[1][:-2]) < 24
    field = pg.locator(".field.check").first
    assert field.evaluate("e => getComputedStyle(e).borderLeftWidth") == "0px"  # no grey bar
    assert field.evaluate("e => getComputedStyle(e).borderLeftStyle") == "none"
    box.click()
    assert not box.is_checked()


def test_findings_render_code_spans_and_nothing_else(env: Env, pg: Any) -> None:
    record(env.store, "search", "health", "fail", findings=(BACKTICK_FINDING,))
    _sign_in(pg, "viewer")
    pg.goto("/services/search")
    item = pg.locator("#check-health .findings li").first
    code = item.locator(".msg code")
    assert code.count() == 1 and code.inner_text() == "X-Frame-Options: DENY"
    text = item.inner_text()
    assert "`" not in text and "<b>exactly</b>" in text  # tags in a message stay text
    assert item.locator("b").count() == 0


def test_attested_cells_have_no_stray_border(env: Env, pg: Any) -> None:
    svc = service_named(env.store, "payments-api")
    assert svc is not None
    now = utcnow()
    add_attestation(
        env.store,
        Attestation(
            service_id=svc.id,
            item="load testing completed",
            signed_by="operator",
            comment="k6",
            signed_at=now,
            expires_at=now + timedelta(days=30),
            created_at=now,
            updated_at=now,
        ),
    )
    _sign_in(pg, "viewer")
    pg.goto("/")
    cell = pg.locator("table.matrix td.cell.o-attested")
    assert cell.count() == 1
    widths = cell.evaluate(
        "e => { const s = getComputedStyle(e);"
        " return [s.borderTopWidth, s.borderLeftWidth, s.borderRightWidth]; }"
    )
    assert widths == ["0px", "0px", "0px"]
    assert "A" in cell.inner_text()  # the overlay is still said, in the cell's label


def test_tiles_show_their_whole_text(env: Env, pg: Any) -> None:
    _migrations_check(env, "payments-api")
    _sign_in(pg, "viewer")
    for width in (1360, 390):
        pg.set_viewport_size({"width": width, "height": 900})
        pg.goto("/services/payments-api")
        tile = pg.locator(".tile", has_text="Migrations")
        detail = tile.locator(".t-detail")
        assert detail.inner_text() == LONG_SUMMARY
        clipped = detail.evaluate(
            "e => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1"
        )
        assert not clipped, f"tile text cut off at {width}px"
        box, frame = detail.bounding_box(), tile.bounding_box()
        assert box is not None and frame is not None
        assert box["x"] + box["width"] <= frame["x"] + frame["width"]
        assert pg.evaluate("document.documentElement.scrollWidth") <= width  # nothing sticks out
    pg.screenshot(path=str(ARTIFACTS / "service-390.png"), full_page=True)


def test_latency_chart_with_one_measurement_is_visible(env: Env, pg: Any) -> None:
    _register(env, "fresh")
    record(env.store, "fresh", "health", "pass", duration_ms=87.0)
    _sign_in(pg, "viewer")
    pg.goto("/services/fresh")
    chart = pg.locator("#check-health svg.sparkline")
    assert "one measurement, 87 ms" in (chart.get_attribute("aria-label") or "")
    level = chart.locator("line.spark-level").bounding_box()
    svg = chart.bounding_box()
    assert level is not None and svg is not None
    assert level["width"] >= 0.9 * svg["width"]  # a line across the chart, not a speck
    dot = chart.locator("circle.spark-dot").bounding_box()
    assert dot is not None and dot["width"] >= 4
    chart.screenshot(path=str(ARTIFACTS / "sparkline-one-point.png"))


NAV = [
    ("/", "Overview", "page"),
    ("/services/payments-api", "Overview", "true"),
    ("/manage/", "Manage", "page"),
    ("/manage/services/payments-api/attest", "Manage", "true"),
    ("/manage/users", "Users", "page"),
    ("/manage/tokens", "API tokens", "page"),
    ("/manage/audit", "Audit log", "page"),
]


def test_nav_highlights_the_current_section(env: Env, pg: Any) -> None:
    _sign_in(pg, "admin")
    nav = pg.get_by_role("navigation", name="Main")
    for path, label, current in NAV:
        pg.goto(path)
        active = nav.locator("a.active")
        assert active.all_inner_texts() == [label], path
        assert active.get_attribute("aria-current") == current, path
        assert nav.locator("a[aria-current]").count() == 1, path
        colours = active.evaluate("e => getComputedStyle(e).backgroundColor")
        idle = nav.locator("a:not(.active)").first.evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        assert colours != idle, path  # highlighted, not only marked up
    pg.goto("/account")
    assert pg.locator(".who a.active").get_attribute("aria-current") == "page"
    assert nav.locator("a.active").count() == 0


def test_footer_links_to_api_docs_and_metrics(env: Env, pg: Any) -> None:
    _sign_in(pg, "viewer")
    foot = pg.get_by_role("contentinfo")
    metrics = foot.get_by_role("link", name="Metrics")
    assert metrics.get_attribute("href") == "/metrics"
    assert "auditor_" in pg.request.get("/metrics").text()
    foot.get_by_role("link", name="API docs").click()
    pg.wait_for_url("**/api/docs")
    assert pg.title() and pg.locator("body").inner_text().strip()


def test_config_managed_forms_are_read_only_and_say_why(env: Env, pg: Any) -> None:
    _sign_in(pg, "operator")
    pg.goto("/services/payments-api")
    pg.get_by_role("link", name="Settings (config file)").click()
    note = pg.get_by_role("note")
    assert "Managed by the configuration file" in note.inner_text()
    for name in ("name", "url", "owner", "description", "enabled"):
        assert pg.locator(f'[name="{name}"]').is_disabled(), name
    assert pg.get_by_role("button", name="Save").count() == 0
    pg.screenshot(path=str(ARTIFACTS / "managed-service-form.png"), full_page=True)
    pg.get_by_role("link", name="Back to payments-api").click()
    health = pg.locator("#check-health")
    health.get_by_role("link", name="Settings").click()
    assert "Managed by the configuration file" in pg.get_by_role("note").inner_text()
    assert pg.locator('[name="options"]').is_disabled()
    assert pg.get_by_role("button", name="Save").count() == 0
    # waivers stay allowed on a config-defined check
    pg.goto("/services/payments-api")
    pg.locator("#check-health").get_by_role("link", name="Waive…").click()
    pg.get_by_label("Reason").fill("upstream outage OPS-7")
    pg.get_by_role("button", name="Waive").click()
    assert "Waiver added" in pg.get_by_role("status").inner_text()


def test_attestation_item_is_chosen_from_the_checklist(env: Env, pg: Any) -> None:
    _sign_in(pg, "operator")
    pg.goto("/manage/services/payments-api/attest")
    item = pg.get_by_label("Checklist item")
    assert item.evaluate("e => e.tagName") == "SELECT"
    assert item.locator("option").all_inner_texts() == ["load testing completed"]
    pg.goto("/manage/services/search/attest")  # no attestation checks: nothing to sign
    assert "has no checklist items yet" in pg.get_by_role("note").inner_text()
    assert pg.get_by_role("button", name="Sign", exact=True).is_disabled()
    pg.get_by_role("link", name="Add an attestation check").click()
    assert pg.get_by_label("Kind", exact=True).input_value() == "attestation"
