"""Minimal overview: services and the latest state of each check (read from check_state only)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from auditor.models import utcnow
from auditor.state import effective
from web import get_store

bp = Blueprint("dashboard", __name__)

STATE_ICONS = {"pass": "✓", "warn": "!", "fail": "✗", "error": "⚠", "unknown": "?"}


@bp.get("/")
def overview() -> ResponseReturnValue:
    now = utcnow()
    rows = []
    for service, checks in get_store().overview():
        items = []
        for check, state in checks:
            shown = "unknown"
            if state is not None and check.enabled:
                shown = effective(state.state, state.last_run_at, check.interval_s, now)
            items.append(
                {
                    "name": check.name,
                    "kind": check.kind,
                    "enabled": check.enabled,
                    "state": shown,
                    "icon": STATE_ICONS.get(shown, "?"),
                    "summary": state.last_summary if state else "",
                    "last_run_at": state.last_run_at if state else None,
                }
            )
        rows.append({"service": service, "checks": items})
    return render_template("dashboard/overview.html", rows=rows, now=now)
