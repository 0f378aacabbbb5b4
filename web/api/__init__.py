"""The REST API under ``/api/v1`` (DESIGN §7): envelope, tokens, OpenAPI 3.1.

Every answer under ``/api/`` — including 404/405/413 for unknown routes and methods and
500s — is in the envelope; no stack trace or internal message reaches a client (a 500
carries only the request id, which also appears in every log line of that request).
The blueprint and its hooks are in ``blueprint``; each resource module adds its routes.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

from web.api import (
    admin,
    alerts,
    attestations,
    audit_events,
    checks,
    evidence,
    heartbeats,
    runs,
    services,
    waivers,
)
from web.api.blueprint import (
    app_http_error,
    begin_request,
    bp,
    docs_bp,
    end_request,
    finish_request,
)

#: the resource modules, imported for the routes they register on ``bp``
RESOURCES = (
    admin, alerts, attestations, audit_events, checks, evidence, heartbeats, runs, services, waivers,
)  # fmt: skip


def init_app(app: Flask) -> None:
    """Register the API (call once from the app factory)."""
    app.register_blueprint(bp)
    app.register_blueprint(docs_bp)
    app.before_request(begin_request)
    app.after_request(finish_request)
    app.teardown_request(end_request)
    app.register_error_handler(HTTPException, app_http_error)
