"""Fixture WSGI apps: a Flask app in debug mode, one that returns tracebacks, a clean one."""

from __future__ import annotations

import json
import threading
import traceback
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.debug import DebuggedApplication
from werkzeug.exceptions import HTTPException

METRICS = (
    '# HELP up Whether the app is up.\n# TYPE up gauge\nup 1\napp_requests_total{code="200"} 42\n'
)
TOKEN = "Bearer s3cret"


def _handlers(app: Flask) -> None:
    @app.route("/", methods=["GET", "POST"])
    def index() -> Any:
        if request.method == "POST":
            return jsonify(json.loads(request.get_data()))  # crashes on invalid JSON
        limit = int(request.args.get("limit", "10"))  # crashes on a bad query
        return jsonify(items=[], limit=limit)


def debug_app() -> Any:
    """``flask run --debug``: the Werkzeug debugger renders every unhandled exception."""
    app = Flask("debug_app")
    app.debug = True
    _handlers(app)
    return DebuggedApplication(app, evalex=False)


def traceback_app() -> Flask:
    """Hand-written error handler that returns the traceback; ``/metrics`` left open."""
    app = Flask("traceback_app")
    _handlers(app)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return exc
        return Response(traceback.format_exc(), 500, mimetype="text/plain")

    @app.route("/metrics")
    def metrics() -> Any:
        return Response(METRICS, mimetype="text/plain; version=0.0.4")

    return app


def clean_app() -> Flask:
    """JSON errors, no banner, RateLimit headers, authenticated ``/metrics``."""
    app = Flask("clean_app")
    hits = {"n": 0}
    lock = threading.Lock()

    @app.route("/", methods=["GET", "POST"])
    def index() -> Any:
        if request.method == "POST":
            try:
                return jsonify(json.loads(request.get_data()))
            except ValueError:
                return jsonify(error="invalid JSON body"), 400
        if not request.args.get("limit", "10").isdigit():
            return jsonify(error="limit must be a number"), 400
        return jsonify(items=[])

    @app.route("/metrics")
    def metrics() -> Any:
        if request.headers.get("Authorization") != TOKEN:
            return jsonify(error="unauthorized"), 401
        return Response(METRICS, mimetype="text/plain; version=0.0.4")

    @app.route("/throttled")
    def throttled() -> Any:
        with lock:
            hits["n"] += 1
            n = hits["n"]
        return (jsonify(error="slow down"), 429) if n > 5 else jsonify(ok=True)

    @app.errorhandler(404)
    def not_found(exc: Exception) -> Any:
        return jsonify(error="not found"), 404

    @app.after_request
    def headers(resp: Response) -> Response:
        if request.path != "/throttled":
            resp.headers["RateLimit-Limit"] = "100"
            resp.headers["RateLimit-Remaining"] = "99"
        return resp

    return app
