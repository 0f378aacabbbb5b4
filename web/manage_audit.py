"""``/manage/audit``: the audit log for admins, newest first, filterable by action and actor.

Rendered through the usual autoescaping templates (no inline script), so a hostile name
stored in an event (a service called ``<script>``) is shown as text.
"""

from __future__ import annotations

import json
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from auditor.store.audit_log import list_events
from auditor.store.listing import Criterion
from web.auth import login_required
from web.context import get_store
from web.manage import bp

PAGE_SIZE = 50


def _changes_text(changes: dict[str, Any]) -> list[tuple[str, str, str]]:
    def show(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, sort_keys=True)

    return [(k, show(v[0]), show(v[1])) for k, v in sorted(changes.items()) if len(v) == 2]


@bp.get("/audit")
@login_required("admin")
def audit() -> ResponseReturnValue:
    action = request.args.get("action", "").strip()[:64]
    actor = request.args.get("actor", "").strip()[:255]
    page = request.args.get("page", "1")
    page_no = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    criteria = []
    if action:
        criteria.append(Criterion("action", "eq", action))
    if actor:
        criteria.append(Criterion("actor", "audit_actor", actor))
    found = list_events(get_store(), criteria, offset=(page_no - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    rows = [(e, _changes_text(e.changes or {})) for e in found.rows]
    return render_template(
        "manage/audit.html",
        rows=rows,
        action=action,
        actor=actor,
        page=page_no,
        has_next=page_no * PAGE_SIZE < found.total,
        total=found.total,
    )
