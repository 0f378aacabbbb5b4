"""The auditor's own dashboard and API score A+ with its own headers check, over real HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trustme

from auditor.config import parse_config
from auditor.probe.http import HttpProber
from auditor.process.web_server import WebServer
from auditor.schedule.runner import run_check
from auditor.store.db import Database
from checks.base import RunStatus, Target
from checks.headers import HeadersCheck
from web import create_app


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("selfgrade")
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = tmp / "cert.pem", tmp / "key.pem", tmp / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(ca_file))
    config = parse_config(
        {
            "auditor": {
                "database_url": f"sqlite:///{tmp}/a.db",
                "tls_cert": str(cert),
                "tls_key": str(key),
            }
        },
        environ={},
    )
    store = Database(config.auditor.database_url)
    server = WebServer(create_app(config, store), "127.0.0.1", 0, (str(cert), str(key)))
    server.start()
    try:
        yield f"https://127.0.0.1:{server.port}", str(ca_file)
    finally:
        server.stop()
        store.close()


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/login", id="dashboard-login"),
        pytest.param("/", id="dashboard-overview-redirect"),
        pytest.param("/api/v1/services", id="api-unauthenticated"),
        pytest.param("/api/v1/openapi.json", id="api-openapi"),
        pytest.param("/api/docs", id="api-docs"),
        pytest.param("/healthz", id="healthz"),
    ],
)
async def test_own_pages_score_a_plus(served: tuple[str, str], path: str) -> None:
    base, ca_file = served
    check = HeadersCheck()
    options = check.Options.model_validate(
        {"path": path, "ca_file": ca_file, "http_port": 0, "min_grade": "A+"}
    )
    target = Target(
        service="auditor", url=base, check="headers", kind="headers", environment="production"
    )
    prober = HttpProber()
    try:
        result = await run_check(check, target, options, prober=prober, timeout=10)
    finally:
        await prober.aclose()
    obs = result.facts["observatory"]
    failing = {
        name: res
        for name, res in obs["tests"].items()
        if "not-implemented" in res or "invalid" in res
    }
    assert obs["grade"] == "A+", (obs, failing, [f.to_dict() for f in result.findings])
    assert result.status is RunStatus.PASS, [f.to_dict() for f in result.findings]


def test_the_served_pages_need_no_inline_assets(served: tuple[str, str]) -> None:
    import re
    import ssl
    import urllib.request

    base, ca_file = served
    ctx = ssl.create_default_context(cafile=ca_file)
    for path in ("/login", "/api/docs"):
        html = urllib.request.urlopen(base + path, context=ctx, timeout=5).read().decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and " style=" not in html, path
