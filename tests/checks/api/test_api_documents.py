"""Bad and hostile documents: each a clear ``error`` result, never a crash, a hang or a fetch."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.checks.api import apps
from tests.checks.api.support import codes, run_api
from tests.checks.tls.servers import wsgi_server

FIFTY_MB = 50 * 1000 * 1000


def _fifty_megabytes() -> Iterator[bytes]:
    yield b'{"openapi": "3.1.0", "info": {"title": "big", "version": "1"}, "x-pad": "'
    chunk = b"a" * 1_000_000
    for _ in range(50):
        yield chunk
    yield b'"}'


def _with(**components: Any) -> dict[str, Any]:
    doc = apps.good_spec()
    doc["components"]["schemas"].update(components)
    doc["paths"]["/users"]["get"]["responses"]["200"] = apps._json(
        {"$ref": "#/components/schemas/A"}
    )
    return doc


ALIAS_BOMB = b"""openapi: 3.1.0
info: {title: bomb, version: "1"}
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
paths: {}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, Any]]:
    documents: dict[str, Any] = {
        "html": b"<html><body><h1>Welcome</h1></body></html>",
        "broken-json": b'{"openapi": "3.1.0", "paths": {',
        "binary": bytes(range(256)) * 10,
        "no-version": {"info": {"title": "x"}, "paths": {}},
        "big": _fifty_megabytes,
        "loop": _with(A={"$ref": "#/components/schemas/B"}, B={"$ref": "#/components/schemas/A"}),
        "allof-loop": _with(A={"allOf": [{"$ref": "#/components/schemas/A"}]}),
        "tree": _with(
            A={
                "type": "object",
                "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/A"}}
                },
            }
        ),
        "alias-bomb": ALIAS_BOMB,
        "invalid": {
            "openapi": "3.1.0",
            "info": {"title": "x"},
            "paths": {"/users": {"get": {"responses": "nope"}}},
        },
        "swagger": {
            "swagger": "2.0",
            "info": {"title": "old", "version": "1"},
            "basePath": "/api/v1",
            "securityDefinitions": {"key": {"type": "apiKey", "name": "X-Api-Key", "in": "header"}},
            "security": [{"key": []}],
            "paths": {"/createUser": {"post": {"responses": {"200": {"description": "ok"}}}}},
        },
    }
    app = apps.document_app(documents)
    with wsgi_server(app) as port:
        documents["remote"] = _with(A={"$ref": f"http://127.0.0.1:{port}/evil.json"})
        documents["file-ref"] = _with(A={"$ref": "other.yaml#/components/schemas/A"})
        documents["id-rebase"] = _with(A={"$id": f"http://127.0.0.1:{port}/", "type": "object"})
        yield port, app


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("html", "api.spec_unparseable", "not an OpenAPI document (got str"),
        ("broken-json", "api.spec_unparseable", "neither JSON nor YAML"),
        ("binary", "api.spec_unparseable", "not UTF-8"),
        ("no-version", "api.spec_unparseable", "'openapi' or 'swagger' version"),
        ("big", "api.spec_too_large", "over the 10,000,000-byte cap"),
        ("alias-bomb", "api.spec_too_large", "YAML aliases"),
        (
            "loop",
            "api.ref_loop",
            "#/components/schemas/A -> #/components/schemas/B -> #/components/schemas/A",
        ),
        ("allof-loop", "api.ref_loop", "#/components/schemas/A -> #/components/schemas/A"),
        ("remote", "api.ref_refused", "refers outside itself at /components/schemas/A/$ref"),
        ("file-ref", "api.ref_refused", "'other.yaml#/components/schemas/A'"),
        ("id-rebase", "api.ref_refused", "$id"),
        ("missing", "api.spec_unreachable", "answered 404, not 200"),
    ],
)
async def test_bad_document_is_a_clear_error(
    server: tuple[int, Any], name: str, code: str, words: str
) -> None:
    port, app = server
    started = time.monotonic()
    result = await run_api(port, openapi=f"/docs/{name}", timeout=30)
    assert (str(result.status), codes(result)) == ("error", {code}), result.summary
    assert words in result.summary
    assert result.error == result.summary
    assert time.monotonic() - started < 20
    assert "evil" not in app.config["hits"], "a remote $ref was fetched"


async def test_fifty_megabytes_are_not_read(server: tuple[int, Any]) -> None:
    port, _ = server
    started = time.monotonic()
    result = await run_api(port, openapi="/docs/big", max_spec_size="1MB")
    assert codes(result) == {"api.spec_too_large"}
    assert "1,000,000-byte cap" in result.summary
    assert time.monotonic() - started < 10


async def test_recursive_schema_is_legitimate(server: tuple[int, Any]) -> None:
    port, _ = server
    result = await run_api(port, openapi="/docs/tree", live=False)
    assert str(result.status) != "error", result.summary
    assert "api.ref_loop" not in codes(result)


async def test_document_that_fails_validation_is_a_failing_finding(server: tuple[int, Any]) -> None:
    port, _ = server
    result = await run_api(port, openapi="/docs/invalid", live=False)
    assert str(result.status) == "fail"
    finding = next(f for f in result.findings if f.code == "api.spec_invalid")
    assert "does not validate (3.1.0)" in finding.message
    assert result.facts["validation"]["errors"]


async def test_swagger_2_documents_are_validated_and_linted(server: tuple[int, Any]) -> None:
    port, _ = server
    result = await run_api(port, openapi="/docs/swagger", live=False)
    assert result.facts["version"] == "2.0"
    assert result.facts["validation"]["errors"] == []
    assert {"api.paths.no-verbs", "api.responses.create-201"} <= codes(result)
    assert "api.security.schemes-declared" not in codes(result)


async def test_unreachable_service_is_an_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await run_api(port)
    assert (str(result.status), codes(result)) == ("error", {"api.spec_unreachable"})
    assert "refused" in result.summary


async def test_spec_file_on_the_config_tier(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_text(yaml.safe_dump(apps.good_spec()))
    with wsgi_server(apps.good_app()) as port:
        result = await run_api(port, spec_file=str(spec))
    assert (str(result.status), result.findings) == ("pass", []), result.summary
    assert result.facts["source"] == str(spec)
    assert result.facts["live"]["not_found"]["status"] == 404


async def test_spec_file_problems(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2_000_001)
    missing = await run_api(1, spec_file=str(tmp_path / "nope.json"), live=False)
    assert codes(missing) == {"api.spec_unreadable"} and "nope.json" in missing.summary
    too_big = await run_api(1, spec_file=str(big), live=False, max_spec_size="2MB")
    assert codes(too_big) == {"api.spec_too_large"} and "2,000,001 bytes" in too_big.summary
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    not_doc = await run_api(1, spec_file=str(tmp_path / "list.json"), live=False)
    assert codes(not_doc) == {"api.spec_unparseable"}
