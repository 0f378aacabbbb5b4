"""The service page shows each location's state, latency and worker of a located check."""

from __future__ import annotations

import re
from datetime import timedelta

from auditor.config.sync import sync_config
from auditor.store.accounts import create_token, create_user
from auditor.store.db import Database
from auditor.store.location_claims import adopt_location
from auditor.store.models import utcnow
from auditor.store.nodes import heartbeat_node
from tests.locations.test_store import config, run_round
from tests.web.conftest import PASSWORD, login


def test_service_page_lists_every_location_with_state_and_latency(pg_url: str) -> None:
    from web import create_app

    cfg = config(pg_url)
    store = Database(pg_url)
    try:
        store.upgrade()
        sync_config(store, cfg)
        for location in "ab":  # c has no worker
            heartbeat_node(store, f"w-{location}", "worker", "host", 1, location)
            adopt_location(store, location, utcnow())
        run_round(store, {"a": "pass", "b": "fail"}, utcnow() + timedelta(seconds=1))
        create_user(store, username="viewer", role="viewer", password=PASSWORD)
        app = create_app(cfg, store, test_config={"TESTING": True})
        client = app.test_client()
        assert login(client, "viewer").status_code == 302
        html = client.get("/services/shop").get_data(as_text=True)
        table = html[html.index("From each probe location") :]
        table = table[: table.index("</table>")]
        rows = [
            [
                w
                for w in re.sub(r"<[^>]+>|\s+", " ", r).split()
                if (w.isascii() and w.isalnum()) or w == "—"
            ]
            for r in table.split("<tr>")[2:]
        ]  # words, without the badges' icons
        assert rows[0][:4] == ["a", "pass", "12", "ms"], rows
        assert rows[1][:4] == ["b", "fail", "12", "ms"], rows
        assert rows[2][:3] == ["c", "unknown", "—"], rows
        assert rows[0][-1] == "live" and " ".join(rows[2]).endswith("no live worker")
        assert "failing when 2 of 3 agree" in table
        # the check's own finding says so too
        assert "location c has no live worker" in html
    finally:
        store.close()


def test_the_api_shows_locations_quorum_and_each_runs_location(pg_url: str) -> None:
    from web import create_app

    cfg = config(pg_url)
    store = Database(pg_url)
    try:
        store.upgrade()
        sync_config(store, cfg)
        for location in "ab":
            heartbeat_node(store, f"w-{location}", "worker", "host", 1, location)
            adopt_location(store, location, utcnow())
        run_round(store, {"a": "pass", "b": "fail"}, utcnow() + timedelta(seconds=1))
        token = create_token(store, name="v", role="viewer")[1]
        client = create_app(cfg, store, test_config={"TESTING": True}).test_client()
        headers = {"Authorization": f"Bearer {token}"}
        services = client.get("/api/v1/services?name=shop", headers=headers).get_json()["data"]
        (svc,) = [x for x in services if x["name"] == "shop"]
        (shop,) = client.get(f"/api/v1/services/{svc['id']}/checks", headers=headers).get_json()[
            "data"
        ]
        assert shop["locations"] == ["a", "b", "c"] and shop["quorum"] == 2
        runs = client.get(f"/api/v1/checks/{shop['id']}/runs", headers=headers).get_json()["data"]
        assert sorted((r["location"], r["status"]) for r in runs) == [("a", "pass"), ("b", "fail")]
    finally:
        store.close()
