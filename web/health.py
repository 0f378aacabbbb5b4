"""The auditor's own health: /healthz (alive) and /readyz (database reachable, scheduler running)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from web.context import get_store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Alive: the process answers. Nothing else is checked so a slow database cannot kill it."""
    return jsonify(status="pass")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready: the database answers and a scheduler (here or on another node) is running."""
    store = get_store()
    checks: dict[str, str] = {}
    checks["database"] = "pass" if store.ping() else "fail"
    alive = current_app.extensions.get("auditor.scheduler_alive")
    if alive is not None:
        checks["scheduler"] = "pass" if alive() else "fail"
    else:
        try:
            from auditor.store.nodes import live_nodes

            checks["scheduler"] = "pass" if live_nodes(store, within_s=30.0) else "fail"
        except Exception:
            checks["scheduler"] = "fail"
    ok = all(v == "pass" for v in checks.values())
    response = jsonify(status="pass" if ok else "fail", checks=checks)
    response.status_code = 200 if ok else 503
    response.mimetype = "application/health+json"
    return response
