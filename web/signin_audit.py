"""Where a request comes from, and the audit rows of sign-in attempts.

Apart from :mod:`web.audit` so the login views (``web.auth``) can write their events without
an import cycle (``web.audit`` asks ``web.auth`` who is signed in).
"""

from __future__ import annotations

from flask import request

from auditor.store import audit_log
from auditor.store.audit_log import Actor, AuditScope, Origin
from web.context import get_store


def origin() -> Origin:
    """The client address, its user agent (truncated) and the request id."""
    from web.api.envelope import request_id

    ua = request.headers.get("User-Agent")
    return Origin(request.remote_addr, ua[: audit_log.USER_AGENT_MAX] if ua else None, request_id())


def login_event(action: str, username: str, user_id: str | None, outcome: str) -> None:
    """A sign-in attempt: the username tried (never the password), from where, how it went."""
    actor = Actor("user" if outcome == "success" else "anonymous", user_id, username[:255])
    scope = AuditScope(
        action=action,
        target_type="user",
        actor=lambda: actor,
        origin=origin(),
        target_id=user_id,
        target_name=username[:255],
    )
    audit_log.record(get_store(), scope, outcome=outcome)
