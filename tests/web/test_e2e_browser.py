"""End to end in real headless Chromium (Debian ``chromium``) against the app under waitress.

Signs in, filters the overview, opens a failing service, signs an attestation, runs a check
now and sees its state change; saves screenshots to ``tests/artifacts/`` (CI artifacts).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD, Env

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(120)]


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


@pytest.fixture
def live_url(env: Env) -> Iterator[str]:
    from waitress.server import create_server

    server = create_server(env.app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    finally:
        server.close()


@pytest.fixture
def page(live_url: str) -> Iterator[object]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=live_url)
        pg = context.new_page()
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            yield pg
        finally:
            context.close()
            browser.close()
        assert not errors, f"console errors (CSP violations?): {errors}"


def test_operator_journey(env: Env, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/")
    assert "/login" in page.url
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("table.matrix")).to_contain_text("payments-api")
    expect(page.locator("table.matrix")).to_contain_text("search")
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

    # filter by environment with the plain GET form
    page.get_by_label("Environment").select_option("staging")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url("/?q=&environment=staging&owner=&tag=&verdict=&state=&sort=worst")
    expect(page.locator("table.matrix")).not_to_contain_text("payments-api")
    # the auto-refresh keeps the filters
    page.evaluate("window.auditorRefresh()")
    expect(page.locator("#live")).to_have_attribute("data-refreshed", re.compile(r"^\d+$"))
    expect(page.locator("table.matrix")).not_to_contain_text("payments-api")
    page.get_by_role("link", name="Reset").click()

    # open the failing service (worst first)
    page.locator("table.matrix tbody tr").first.get_by_role("link", name="payments-api").click()
    expect(page.get_by_role("heading", name="payments-api")).to_be_visible()
    health = page.locator("#check-health")
    expect(health.locator(".state")).to_contain_text("fail")
    expect(health).to_contain_text("What to do")

    # sign an attestation
    page.get_by_role("link", name="Sign attestation").click()
    page.get_by_label("Evidence link").fill("https://wiki.example/load-test")
    page.get_by_label("Comment").fill("k6 at 2x peak traffic, p99 under 300 ms")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Attestation signed")
    expect(page.locator("#check-attestation")).to_contain_text("Attested by operator")

    # the service recovers; run the check now and see the state change
    env.server.healthy = True
    health.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("Check run finished")
    expect(page.locator("#check-health .state")).to_contain_text("pass")
    page.screenshot(path=str(ARTIFACTS / "service.png"), full_page=True)

    # keyboard: the skip link is the first focusable element
    page.goto("/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Skip to content" in focused


def test_dark_scheme_screenshot(env: Env, page) -> None:  # type: ignore[no-untyped-def]
    page.emulate_media(color_scheme="dark")
    page.goto("/login")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/services/payments-api")
    page.screenshot(path=str(ARTIFACTS / "service-dark.png"), full_page=True)
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(13, 17, 23)"
