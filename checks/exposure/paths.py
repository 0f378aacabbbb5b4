"""Well-known paths that should not answer in production, and how to tell that they do.

Each entry is one GET (never anything that changes state), judged on what came back, not
on the status alone: a single-page app that answers every path with its ``index.html`` or a
login page served with 200 is not an exposed debugger. Only the entry's name and a few
harmless words (actuator endpoint names) leave this module, never the body. Pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from checks.exposure.signatures import default_page, scan_body

API_DOCS = "api_docs"
SERVER_STATUS = "server_status"
ACTUATOR = "actuator"
PPROF = "pprof"
INTERACTIVE_DEBUGGER = "interactive_debugger"
DEFAULT_PAGE = "default_page"

#: Spring Boot actuator endpoints that leak secrets or memory, or change the service
ACTUATOR_SENSITIVE = frozenset(
    {
        "env", "heapdump", "threaddump", "configprops", "beans", "mappings", "loggers",
        "shutdown", "jolokia", "httpexchanges", "httptrace", "sessions", "logfile", "trace",
        "dump", "auditevents", "scheduledtasks", "caches", "conditions", "refresh", "restart",
    }
)  # fmt: skip


@dataclass(frozen=True)
class PathProbe:
    code: str
    path: str
    what: str


PROBES: tuple[PathProbe, ...] = (
    PathProbe(API_DOCS, "/docs", "Swagger UI"),
    PathProbe(API_DOCS, "/redoc", "ReDoc"),
    PathProbe(API_DOCS, "/openapi.json", "OpenAPI document"),
    PathProbe(API_DOCS, "/swagger-ui/", "Swagger UI"),
    PathProbe(API_DOCS, "/api-docs", "API documentation"),
    PathProbe(SERVER_STATUS, "/server-status", "Apache mod_status"),
    PathProbe(SERVER_STATUS, "/server-info", "Apache mod_info"),
    PathProbe(ACTUATOR, "/actuator", "Spring Boot actuator"),
    PathProbe(ACTUATOR, "/actuator/env", "Spring Boot actuator env"),
    PathProbe(PPROF, "/debug/pprof/", "Go net/http/pprof"),
    PathProbe(INTERACTIVE_DEBUGGER, "/console", "Werkzeug console"),
)

_SWAGGER = re.compile(r"SwaggerUIBundle|swagger-ui(?:-bundle)?\.js|id=\"swagger-ui\"")
_REDOC = re.compile(r"<redoc[\s>]|redoc\.standalone\.js|Redoc\.init\(")
_APACHE_STATUS = re.compile(r"<h1[^>]*>Apache Server (?:Status for|Information)")
_NGINX_STUB = re.compile(r"^Active connections: \d+", re.MULTILINE)
_PPROF = re.compile(r"Types of profiles available|/debug/pprof/goroutine|href=['\"]?goroutine")
_ENV = re.compile(r'^\s*\{\s*"(?:activeProfiles|propertySources)"\s*:')
_CONSOLE = re.compile(r"\bCONSOLE_MODE\s*=\s*true\b")


def _json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _api_docs(body: str) -> bool:
    if _SWAGGER.search(body) or _REDOC.search(body):
        return True
    doc = _json(body)
    return isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) and "paths" in doc


def _actuator(path: str, body: str) -> list[str]:
    """Names of sensitive actuator endpoints the answer shows (empty: not an actuator)."""
    if path.endswith("/env"):  # the document is often larger than the body cap: no parse
        return ["env"] if _ENV.search(body[:4096]) else []
    doc = _json(body)
    if not isinstance(doc, dict):
        return []
    links = doc.get("_links")
    if not isinstance(links, dict) or "self" not in links:
        return []
    return sorted({str(name).split("-")[0] for name in links} & ACTUATOR_SENSITIVE)


def judge_path(probe: PathProbe, status: int, body: str) -> list[str] | None:
    """``None`` when ``probe.path`` is not exposed, else the details worth naming."""
    if status != 200:
        return None
    if probe.code == API_DOCS:
        return [] if _api_docs(body) else None
    if probe.code == SERVER_STATUS:
        return [] if _APACHE_STATUS.search(body) or _NGINX_STUB.search(body) else None
    if probe.code == ACTUATOR:
        return _actuator(probe.path, body) or None
    if probe.code == PPROF:
        return [] if _PPROF.search(body) else None
    if probe.code == INTERACTIVE_DEBUGGER:
        hits = scan_body(body)
        return [] if _CONSOLE.search(body) or any(h["code"] == probe.code for h in hits) else None
    return None


def judge_root(status: int, body: str) -> str | None:
    """The stock install page served at the service's path, if that is what it is."""
    return default_page(body) if 200 <= status < 300 else None


#: (severity, one-line fix) per code; api_docs' severity is the operator's choice
REMEDIATION: dict[str, str] = {
    API_DOCS: "serve the docs only in development or behind authentication "
    "(FastAPI: docs_url=None, redoc_url=None, openapi_url=None), or set public_api = true "
    "if the API is meant to be public",
    SERVER_STATUS: "restrict the location to trusted addresses (Apache: Require ip / "
    "Require local in <Location /server-status>) or disable mod_status/mod_info",
    ACTUATOR: "expose only health and info "
    "(management.endpoints.web.exposure.include=health,info) or put the actuator on a "
    "private management port",
    PPROF: "do not import net/http/pprof in the public mux; serve it on a localhost-only port",
    INTERACTIVE_DEBUGGER: "never run the Werkzeug debugger in production "
    "(FLASK_DEBUG=0, app.run(debug=False), or serve with gunicorn/uwsgi)",
    DEFAULT_PAGE: "replace the stock page: remove the default site or serve the "
    "application at this path",
}
