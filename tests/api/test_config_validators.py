"""Checks and services made through the API meet the config file's validators (issue #23):
a condition with an unknown operator or a URL with a space or port 99999 is a 422 naming the
field, not a check that fails forever."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import make_service

V1 = "/api/v1"


def _fields(r: Any) -> dict[str, str]:
    assert r.status_code == 422, r.json
    return {d["field"]: d["message"] for d in r.json["error"]["details"]}


def test_a_condition_with_an_unknown_operator_is_a_422(client: FlaskClient, operator: dict) -> None:
    svc = make_service(client, operator)
    body = {"kind": "health", "options": {"conditions": ["[STATUS] == 200", "[STATUS] === 200"]}}
    r = client.post(f"{V1}/services/{svc['id']}/checks", json=body, headers=operator)
    fields = _fields(r)
    assert list(fields) == ["options.conditions[1]"]
    assert fields["options.conditions[1]"].startswith(
        "invalid condition '[STATUS] === 200': unknown operator '==='"
    )
    body["options"]["conditions"] = ["[STATUS] == 200"]
    r = client.post(f"{V1}/services/{svc['id']}/checks", json=body, headers=operator)
    assert r.status_code == 201, r.json


@pytest.mark.parametrize(
    "url", ["https://exa mple.com", "https://api.example.com:99999", "https://:443"]
)
def test_a_bad_service_url_is_a_422_naming_url(
    client: FlaskClient, operator: dict, url: str
) -> None:
    r = client.post(f"{V1}/services", json={"name": "svc", "url": url}, headers=operator)
    assert list(_fields(r)) == ["url"]
    svc = make_service(client, operator)
    r = client.patch(f"{V1}/services/{svc['id']}", json={"url": url}, headers=operator)
    assert list(_fields(r)) == ["url"]
