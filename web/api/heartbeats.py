"""Heartbeats for backup jobs (healthchecks-compatible), authenticated by the token alone.

``POST|GET /api/v1/heartbeats/<token>`` (success), ``/start``, ``/fail``, ``/<exit-code>``
(0 = success, anything else a failure). The token is the backups check's unguessable
``heartbeat_token``; it never appears in logs.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, request

from auditor.store.models import utcnow
from auditor.store.oversight import record_ping
from web.api.blueprint import bp, route
from web.api.envelope import ApiError, ok
from web.api.openapi import Param
from web.api.schemas import HeartbeatOut
from web.context import get_store

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TOKEN = Param(
    "token",
    "path",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
    "the backups check's heartbeat token",
    required=True,
)
EXIT = Param(
    "exit_code",
    "path",
    {"type": "integer", "minimum": 0, "maximum": 255},
    "the job's exit code: 0 success, anything else a failure",
    required=True,
    converter="int",
)


def _ping(token: str, kind: str, exit_code: int | None = None) -> Response:
    if not TOKEN_RE.match(token):
        raise ApiError(
            400,
            "invalid_token",
            "malformed heartbeat token",
            [{"field": "token", "message": "must be 16-64 URL-safe characters"}],
        )
    remote = (request.remote_addr or "")[:64] or None
    ping = record_ping(get_store(), token, kind, exit_code, remote, utcnow())
    return ok(HeartbeatOut.model_validate(ping, from_attributes=True).model_dump(mode="json"))


def _ops(suffix: str, kind: str, summary: str, params: tuple[Param, ...]) -> None:
    for method in ("POST", "GET"):
        op_id = f"heartbeat{kind.capitalize()}{'' if method == 'POST' else 'Get'}"

        def view(token: str, exit_code: Any = None, _kind: str = kind) -> Response:
            if _kind == "exit":
                if not isinstance(exit_code, int) or not 0 <= exit_code <= 255:
                    raise ApiError(
                        400,
                        "invalid_exit_code",
                        "malformed exit code",
                        [{"field": "exit_code", "message": "must be an integer 0-255"}],
                    )
                return _ping(token, "exit", exit_code)
            return _ping(token, _kind)

        view.__name__ = op_id
        route(
            bp,
            f"/heartbeats/{{token}}{suffix}",
            method,
            op_id=op_id,
            summary=summary + ("" if method == "POST" else " (GET, healthchecks-compatible)"),
            tag="heartbeats",
            role=None,
            response=HeartbeatOut,
            params=params,
        )(view)


_ops("", "success", "Report a successful backup job", (TOKEN,))
_ops("/start", "start", "Report that a backup job started", (TOKEN,))
_ops("/fail", "fail", "Report that a backup job failed", (TOKEN,))
_ops("/{exit_code}", "exit", "Report a backup job's exit code", (TOKEN, EXIT))
