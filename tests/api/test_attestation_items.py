"""``POST /attestations`` signs only checklist items of the service (issue #23).

An item no attestation check reads would be stored and silently ignored by readiness, so
the API refuses it with 422 naming ``item`` and says which items exist.
"""

from __future__ import annotations

import uuid

from flask.testing import FlaskClient

from tests.api.conftest import make_check, make_service

V1 = "/api/v1"


def _sign(client: FlaskClient, headers: dict, service_id: str, item: str):  # type: ignore[no-untyped-def]
    body = {"service_id": service_id, "item": item, "comment": "done"}
    return client.post(f"{V1}/attestations", json=body, headers=headers)


def test_unknown_item_is_refused_naming_the_field_and_the_items(
    client: FlaskClient, operator: dict
) -> None:
    svc = make_service(client, operator)
    make_check(client, operator, svc["id"], kind="attestation", options={"item": "dr drill"})
    r = _sign(client, operator, svc["id"], "load testing completed")
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == "validation_failed"
    [detail] = r.json["error"]["details"]
    assert detail["field"] == "item"
    assert "'load testing completed' is not a checklist item" in detail["message"]
    assert "'dr drill'" in detail["message"]  # what may be signed
    listed = client.get(f"{V1}/attestations?service_id={svc['id']}", headers=operator).json
    assert listed["data"] == []  # nothing stored
    ok = _sign(client, operator, svc["id"], "dr drill")
    assert ok.status_code == 201 and ok.json["data"]["item"] == "dr drill"


def test_service_without_checklist_says_to_add_an_attestation_check(
    client: FlaskClient, operator: dict
) -> None:
    svc = make_service(client, operator)
    r = _sign(client, operator, svc["id"], "anything")
    assert r.status_code == 422
    assert "no attestation checks" in r.json["error"]["details"][0]["message"]


def test_production_profile_items_may_be_signed(client: FlaskClient, operator: dict) -> None:
    svc = make_service(client, operator, profile="production")
    for item in (
        "load testing completed",
        "rollback procedure documented",
        "backup and recovery tested",
    ):
        assert _sign(client, operator, svc["id"], item).status_code == 201, item


def test_unknown_service_is_still_404(client: FlaskClient, operator: dict) -> None:
    r = _sign(client, operator, str(uuid.uuid4()), "load testing completed")
    assert r.status_code == 404
