"""The ``api`` kind against the auditor's own REST API: a large real document (OpenAPI 3.1,
~45 operations) is measured, and the live conventions hold on the product itself."""

from __future__ import annotations

from pathlib import Path

from auditor.config import parse_config
from auditor.store.db import Database
from tests.checks.api.support import run_api
from tests.checks.tls.servers import wsgi_server
from web import create_app


async def test_own_api_is_measured_and_keeps_the_live_conventions(tmp_path: Path) -> None:
    config = parse_config({"auditor": {"database_url": f"sqlite:///{tmp_path}/a.db"}}, environ={})
    store = Database(config.auditor.database_url)
    try:
        app = create_app(config, store, test_config={"TESTING": True})
        with wsgi_server(app) as port:
            result = await run_api(
                port,
                openapi="/api/v1/openapi.json",
                timeout=60,
                public_operations=["POST /api/v1/heartbeats/*"],  # the token is in the path
            )
    finally:
        store.close()
    assert str(result.status) != "error", result.summary
    assert result.facts["version"].startswith("3.1")
    assert result.facts["operations"] > 30
    codes = {f.code for f in result.findings}
    assert not {c for c in codes if c.startswith("api.live")}, result.summary
    assert "api.security.operations-protected" not in codes
    assert "api.security.schemes-declared" not in codes
    assert "api.paths.versioned" not in codes
    # the document validates (openapi-spec-validator), documents 500 everywhere, and every
    # create with an addressable result names it in Location; what is left is the DESIGN
    # contract's (heartbeat and run paths, DELETE answering 200 with the envelope)
    assert "api.spec_invalid" not in codes
    undocumented = {f.message.split(" does not document ")[1].split()[0]
                    for f in result.findings if f.code == "api.responses.error-statuses"}  # fmt: skip
    assert "500" not in undocumented
    unlocated = [f.message.split(" 201 ")[0] for f in result.findings
                 if f.code == "api.responses.create-location"]  # fmt: skip
    assert sorted(unlocated) == [
        "POST /services/{service_id}/checks/{check_id}/run",
        "POST /services/{service_id}/deploys",
    ]
    not_found = result.facts["live"]["not_found"]
    assert (not_found["status"], not_found["json"], not_found["envelope_missing"]) == (
        404,
        True,
        [],
    )
