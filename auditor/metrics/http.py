"""``/metrics`` for the Flask app: the dedicated registry, optional bearer-token protection.

When ``[auditor] metrics_token_env`` names an environment variable, a scrape must send
``Authorization: Bearer <its value>`` (Prometheus: ``authorization: {credentials_file: …}``).
If the variable is named but empty or unset, ``/metrics`` refuses every scrape (503) rather
than silently serving unprotected.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from auditor.metrics import WorkerMetrics, build_registry
from auditor.metrics.exposition import render
from auditor.store.db import Database

bp = Blueprint("metrics", __name__)

REGISTRY_KEY = "auditor.metrics_registry"
TOKEN_ENV_KEY = "auditor.metrics_token_env"


def init_metrics(
    app: Flask,
    store: Database,
    *,
    token_env: str | None = None,
    worker_metrics: WorkerMetrics | None = None,
    registry: CollectorRegistry | None = None,
) -> None:
    """Mount ``/metrics`` on ``app`` with its own registry (no database access here)."""
    app.extensions[REGISTRY_KEY] = registry or build_registry(store, worker_metrics=worker_metrics)
    app.extensions[TOKEN_ENV_KEY] = token_env
    app.register_blueprint(bp)


def _authorised(token_env: str | None, environ: Mapping[str, str]) -> Response | None:
    """``None`` when the request may scrape, else the refusal to send."""
    if not token_env:
        return None
    expected = environ.get(token_env, "")
    if not expected:
        return Response("metrics token not configured\n", status=503, mimetype="text/plain")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        return None
    return Response(
        "unauthorized\n",
        status=401,
        mimetype="text/plain",
        headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
    )


@bp.get("/metrics")
def metrics() -> Response:
    refusal = _authorised(current_app.extensions.get(TOKEN_ENV_KEY), os.environ)
    if refusal is not None:
        return refusal
    registry: CollectorRegistry = current_app.extensions[REGISTRY_KEY]
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = render(registry, encoder)  # what ``encoder(registry)`` writes, faster
    return Response(body, status=200, headers={"Content-Type": content_type})
