"""Real Flask/Werkzeug, Django and FastAPI, each started the way people start it."""

from __future__ import annotations

import pytest

from tests.realapps.audit import codes, exposure, finding
from tests.realapps.servers import need_module, python_app

pytestmark = pytest.mark.slow

GUNICORN = ["gunicorn", "-b", "127.0.0.1:{port}", "-w", "1"]
FLASK_RUN = ["flask", "--app", "flask_app", "run", "--host", "127.0.0.1", "--port", "{port}"]


async def test_flask_run_debug_exposes_the_interactive_debugger() -> None:
    """``flask run --debug``: the Werkzeug debugger with EVALEX on, and its /console."""
    with python_app([*FLASK_RUN, "--debug", "--no-reload"]) as url:
        result = await exposure(url)
    assert codes(result) == ["exposure.interactive_debugger", "exposure.server_version"]
    message = finding(result, "exposure.interactive_debugger")
    assert "Werkzeug debugger with EVALEX on GET" in message
    assert "Werkzeug console at " in message and message.count("/console") >= 1
    assert "fix: never run the Werkzeug debugger in production" in message
    assert result.findings[0].severity == "critical"


async def test_flask_run_without_debug_only_shows_the_dev_server_banner() -> None:
    with python_app(FLASK_RUN, env={"FLASK_DEBUG": "0"}) as url:
        result = await exposure(url)
    assert codes(result) == ["exposure.server_version"]
    assert "Werkzeug/" in finding(result, "exposure.server_version")


async def test_flask_under_gunicorn_has_no_findings() -> None:
    with python_app([*GUNICORN, "flask_app:app"]) as url:
        result = await exposure(url)
    assert codes(result) == [], result.summary


def django_env(debug: bool) -> dict[str, str]:
    need_module("django")
    return {"DJANGO_SETTINGS_MODULE": "djsite.settings", "DJANGO_DEBUG": "1" if debug else "0"}


async def test_django_debug_true_lists_url_patterns() -> None:
    """``runserver`` with DEBUG = True: the technical 404 lists the URL patterns; the
    technical 500 is the debug page."""
    runserver = ["django", "runserver", "127.0.0.1:{port}", "--noreload"]
    with python_app(runserver, env=django_env(True)) as url:
        result = await exposure(url)
    assert codes(result) == [
        "exposure.debug_page",
        "exposure.server_version",
        "exposure.url_patterns",
    ]
    message = finding(result, "exposure.url_patterns")
    assert "Django technical 404 on GET" in message and "fix: set DEBUG = False" in message
    assert "Django debug page on GET" in finding(result, "exposure.debug_page")


async def test_django_debug_false_under_gunicorn_has_no_findings() -> None:
    with python_app([*GUNICORN, "djsite.wsgi"], env=django_env(False)) as url:
        result = await exposure(url)
    assert codes(result) == [], result.summary


def uvicorn(app: str) -> list[str]:
    need_module("fastapi")
    need_module("uvicorn")
    return ["uvicorn", app, "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"]


async def test_fastapi_defaults_serve_api_docs() -> None:
    with python_app(uvicorn("fastapi_app:app")) as url:
        result = await exposure(url)
    assert codes(result) == ["exposure.api_docs"]
    message = finding(result, "exposure.api_docs")
    for place in ("Swagger UI at", "/docs", "ReDoc at", "/redoc", "OpenAPI document at"):
        assert place in message
    assert "fix: " in message and "docs_url=None" in message
    assert (result.findings[0].severity, str(result.status)) == ("medium", "warn")


async def test_fastapi_api_docs_severity_is_configurable() -> None:
    with python_app(uvicorn("fastapi_app:app")) as url:
        public = await exposure(url, public_api=True)
        high = await exposure(url, api_docs_severity="high")
        off = await exposure(url, api_docs_severity="off")
        staging = await exposure(url, environment="staging")
    assert codes(public) == [] and codes(off) == [] and codes(staging) == []
    assert not [u for u in public.facts["paths"]["statuses"] if u.endswith("/docs")]
    assert (high.findings[0].severity, str(high.status)) == ("high", "fail")


async def test_fastapi_with_docs_off_has_no_findings() -> None:
    with python_app(uvicorn("fastapi_app:closed")) as url:
        result = await exposure(url)
    assert codes(result) == [], result.summary
