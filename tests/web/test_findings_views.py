"""The service page tells an operator what is wrong: a certificate tile is never green while
the tls check fails, and a check that could not measure says why on the readiness list."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

from sqlmodel import select

from auditor.store.models import Check, CheckState, Service, new_id, utcnow
from tests.web.conftest import Env, record

UNTRUSTED = (
    "the chain is not trusted by the system trust store: unable to get local issuer "
    "certificate (+1 more finding)"
)


def page(viewer, name: str) -> str:  # type: ignore[no-untyped-def]
    c, _ = viewer
    return htmllib.unescape(c.get(f"/services/{name}").get_data(as_text=True))


def certificate_tile(html: str) -> str:
    match = re.search(
        r'<li class="tile ([^"]*)"><span class="t-label">Certificate expires.*?</li>', html
    )
    assert match is not None, "no certificate tile"
    return match.group(0)


def add_tls_state(env: Env, state: str, days_left: float, summary: str) -> None:
    now = utcnow()
    with env.store.write() as s:
        svc = s.exec(select(Service).where(Service.name == "search")).one()
        cid = new_id()
        s.add(Check(id=cid, service_id=svc.id, name="tls", kind="tls", source="api"))
        s.add(
            CheckState(
                check_id=cid,
                service_id=svc.id,
                state=state,
                raw_status=state,
                last_run_at=now,
                last_summary=summary,
                metrics={
                    "not_after_ts": (now + timedelta(days=days_left)).timestamp(),
                    "days_left": days_left,
                },
            )
        )


def test_a_far_off_expiry_is_not_green_while_tls_fails(env: Env, viewer) -> None:  # type: ignore[no-untyped-def]
    add_tls_state(env, "fail", 60, UNTRUSTED)
    tile = certificate_tile(page(viewer, "search"))
    assert "tl-fail" in tile and "tl-pass" not in tile
    assert "60 days" in tile  # the countdown is still shown
    assert "not trusted by the system trust store" in tile  # with why it is not green


def test_a_passing_tls_check_keeps_its_countdown_colour(env: Env, viewer) -> None:  # type: ignore[no-untyped-def]
    add_tls_state(env, "pass", 60, "certificate for search valid for 60 more days, TLSv1.3")
    tile = certificate_tile(page(viewer, "search"))
    assert "tl-pass" in tile


def test_an_unmeasured_check_says_why_on_the_readiness_list(env: Env, viewer) -> None:  # type: ignore[no-untyped-def]
    reason = (
        "TLS verification of https://127.0.0.1:8443 failed: the certificate chain of "
        "127.0.0.1 is not trusted (unable to get local issuer certificate): trust this CA "
        "with the check's ca_file option, or fix the chain the server sends"
    )
    for _ in range(4):  # consecutive_error_limit: the state becomes "error"
        record(env.store, "search", "health", "error", summary=reason)
    html = page(viewer, "search")
    readiness = html.split('id="rd-h"', 1)[1].split("</section>", 1)[0]
    assert f"health: could not measure: {reason}" in readiness
    assert not re.search(r"health: unknown\b", readiness)
