"""Each document rule against the conventional document with one convention broken.

The documents are served by a real Flask app on 127.0.0.1 and fetched through the prober;
live probes are off here (``test_api_live.py`` covers them), so each case shows exactly
the finding its broken convention causes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from checks.api import RULE_IDS
from checks.api.live_rules import LIVE_RULES
from tests.checks.api import apps
from tests.checks.api.support import codes, run_api
from tests.checks.tls.servers import wsgi_server

Doc = dict[str, Any]


def _rename(old: str, new: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        doc["paths"] = {(new if k == old else k): v for k, v in doc["paths"].items()}

    return change


def _drop_params(doc: Doc) -> None:
    doc["paths"]["/users"]["get"]["parameters"] = []


def _drop_total_pages(doc: Doc) -> None:
    del doc["components"]["schemas"]["ListMeta"]["allOf"][1]["properties"]["total_pages"]


def _bare_user(doc: Doc) -> None:
    doc["paths"]["/users/{user_id}"]["get"]["responses"]["200"] = apps._json(apps._USER)


def _plain_not_found(doc: Doc) -> None:
    doc["components"]["responses"]["NotFound"] = apps._json(
        {"type": "object", "properties": {"message": {"type": "string"}}}, "Not found"
    )


def _undocumented_404(doc: Doc) -> None:
    del doc["paths"]["/users/{user_id}"]["get"]["responses"]["404"]


def _create_200(doc: Doc) -> None:
    post = doc["paths"]["/users"]["post"]["responses"]
    post["200"] = post.pop("201")


def _no_location(doc: Doc) -> None:
    del doc["paths"]["/users"]["post"]["responses"]["201"]["headers"]


def _delete_200(doc: Doc) -> None:
    responses = doc["paths"]["/users/{user_id}"]["delete"]["responses"]
    del responses["204"]
    responses["200"] = apps._json(apps._ok({"type": "object"}))


def _no_retry_after(doc: Doc) -> None:
    del doc["components"]["responses"]["TooManyRequests"]["headers"]


def _basic_auth(doc: Doc) -> None:
    doc["components"]["securitySchemes"]["bearerAuth"] = {"type": "http", "scheme": "basic"}


def _no_security(doc: Doc) -> None:
    del doc["security"]


def _no_idempotency(doc: Doc) -> None:
    doc["paths"]["/payments"]["post"]["parameters"] = []


def _duplicate_id(doc: Doc) -> None:
    doc["paths"]["/users/{user_id}"]["get"]["operationId"] = "listUsers"


def _unversioned(doc: Doc) -> None:
    doc["servers"] = [{"url": "/api"}]


CASES: dict[str, tuple[Callable[[Doc], None], str]] = {
    "paths.plural-nouns": (_rename("/users/{user_id}", "/user/{user_id}"), "'user'"),
    "paths.no-verbs": (_rename("/payments", "/make-payments"), "verb 'make'"),
    "paths.kebab-case": (_rename("/users", "/userAccounts"), "'userAccounts'"),
    "paths.versioned": (_unversioned, "no path carries a version"),
    "pagination.params": (_drop_params, "GET /users lists without pagination parameters"),
    "pagination.meta": (_drop_total_pages, "total_pages missing"),
    "responses.envelope": (_bare_user, "success, data missing"),
    "responses.error-envelope": (_plain_not_found, "success, error, error.code"),
    "responses.error-statuses": (_undocumented_404, "GET /users/{user_id} does not document 404"),
    "responses.create-201": (_create_200, "POST /users creates but documents 200"),
    "responses.create-location": (_no_location, "no Location header"),
    "responses.delete-204": (_delete_200, "DELETE /users/{user_id} documents 200"),
    "responses.rate-limit-headers": (_no_retry_after, "neither Retry-After nor RateLimit"),
    "security.schemes-declared": (_basic_auth, "bearerAuth (http:basic)"),
    "security.operations-protected": (_no_security, "has no security requirement"),
    "operations.idempotency-key": (
        _no_idempotency,
        "POST /payments does not accept an Idempotency-Key",
    ),
    "operations.unique-ids": (_duplicate_id, "'listUsers' of GET /users/{user_id}"),
}
POINTERS = {
    "paths.plural-nouns": "/paths/~1user~1{user_id}",
    "responses.error-statuses": "/paths/~1users~1{user_id}/get/responses",
    "responses.create-location": "/paths/~1users/post/responses/201",
    "security.schemes-declared": "/components/securitySchemes",
}


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    documents = {name: apps.mutated(change) for name, (change, _) in CASES.items()}
    documents["good"] = apps.good_spec()
    with wsgi_server(apps.document_app(documents)) as port:
        yield port


def test_every_document_rule_has_a_case() -> None:
    assert set(CASES) == set(RULE_IDS) - set(LIVE_RULES)


async def test_conventional_document_has_zero_findings(port: int) -> None:
    result = await run_api(port, openapi="/docs/good", live=False)
    assert (str(result.status), result.findings) == ("pass", []), result.summary
    assert result.facts["validation"]["errors"] == []


@pytest.mark.parametrize("rule", sorted(CASES))
async def test_each_broken_convention_is_its_rules_finding(port: int, rule: str) -> None:
    result = await run_api(port, openapi=f"/docs/{rule}", live=False)
    assert codes(result) == {f"api.{rule}"}, [f.message for f in result.findings]
    finding = result.findings[0]
    assert CASES[rule][1] in finding.message
    fix = result.facts["rules"][rule]["fix"]
    assert finding.message.endswith(f"Fix: {fix}")
    if rule in POINTERS:
        assert f"[at {POINTERS[rule]}]" in finding.message
    level = result.facts["rules"][rule]["severity"]
    assert str(result.status) == {"info": "pass", "warn": "warn", "fail": "fail"}[level]
    assert result.facts["rules_broken"] == [rule]
    assert result.facts["score"] < 100


@pytest.mark.parametrize("rule", ["paths.plural-nouns", "operations.unique-ids"])
async def test_a_rule_switched_off_per_service_reports_nothing(port: int, rule: str) -> None:
    result = await run_api(port, openapi=f"/docs/{rule}", live=False, rules={rule: "off"})
    assert (str(result.status), result.findings) == ("pass", [])
    assert rule not in result.facts["rules_run"]


async def test_severity_raised_per_service(port: int) -> None:
    result = await run_api(
        port, openapi="/docs/paths.kebab-case", live=False, rules={"paths.kebab-case": "fail"}
    )
    assert str(result.status) == "fail"
    assert result.findings[0].severity == "high"
