"""Flask app factory (flaskr pattern): the store and settings are injected, blueprints registered."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g

from auditor.config import Config
from auditor.store.db import Database
from web.context import CONFIG_KEY, STORE_KEY

#: strict enough for an A+ with our own headers check: no inline script or style anywhere
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    "X-XSS-Protection": "0",
}


def create_app(
    config: Config,
    store: Database,
    *,
    scheduler_alive: Callable[[], bool] | None = None,
    test_config: dict[str, Any] | None = None,
    worker_metrics: Any = None,
) -> Flask:
    """Build the WSGI app. ``scheduler_alive`` tells /readyz whether this process's loop ticks."""
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=secrets.token_hex(32),
        MAX_CONTENT_LENGTH=1_000_000,
        EVIDENCE_MAX_BYTES=config.auditor.evidence_max_size,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(config.auditor.tls_cert),
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions[STORE_KEY] = store
    app.extensions[CONFIG_KEY] = config
    app.extensions["auditor.scheduler_alive"] = scheduler_alive
    from web.proxy import TrustedProxies

    # X-Forwarded-* believed only from [web] trusted_proxies (the client address and scheme)
    app.wsgi_app = TrustedProxies(app.wsgi_app, config.web.proxy_networks())  # type: ignore[method-assign]

    from web import dashboard, health

    app.register_blueprint(health.bp)
    app.register_blueprint(dashboard.bp)
    from web import auth, manage, manage_audit  # noqa: F401  (manage_audit adds /manage/audit)

    app.register_blueprint(auth.bp)
    app.register_blueprint(manage.bp)

    from web import api, audit

    api.init_app(app)
    audit.init_app(app)

    from auditor.metrics.http import init_metrics

    init_metrics(
        app, store, token_env=config.auditor.metrics_token_env, worker_metrics=worker_metrics
    )

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Server", None)
        return response

    @app.teardown_appcontext
    def _cleanup(_exc: BaseException | None) -> None:
        g.pop("auditor_now", None)

    return app
