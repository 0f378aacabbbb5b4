"""Which requests are audited, as what, and by whom: the web half of the audit log.

One table (:data:`ACTIONS`) names every mutating API operation and dashboard form by its
Flask endpoint. A request to one of them opens an :class:`~auditor.store.audit_log.AuditScope`
before the view runs; the store writes the event inside the transaction of the change
(``tracked`` actions) or, for actions that change no watched row (run now, ack, logout),
:func:`finish` writes it once the response says the action succeeded. Logins are written by
:func:`web.signin_audit.login_event` from the login views. ``tests/security/test_audit_log.py`` checks that
every mutating endpoint of the app is in the table.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from flask import Flask, Response, g, request

from auditor.store import audit_log
from auditor.store.audit_log import MODELS, Actor, AuditScope, name_of
from auditor.store.listing import get_row
from auditor.store.models import Service, Transition
from web.context import get_store
from web.signin_audit import origin

log = structlog.get_logger("auditor.audit")


@dataclass(frozen=True)
class Spec:
    """``id_arg``: the URL argument holding the target's id (``name`` for a service name);
    ``tracked``: the action writes a row of the target (or ``watch``) type, which the store
    diffs; otherwise the event is written when the response is a success."""

    action: str
    target_type: str
    id_arg: str | None = None
    tracked: bool = True
    watch: str | None = None
    match: str = "id"


_S, _C, _W, _A, _T, _U = "service", "check", "waiver", "attestation", "token", "user"

ACTIONS: dict[str, Spec] = {
    # REST API (endpoint = "api." + operationId)
    "api.createService": Spec("service.create", _S),
    "api.replaceService": Spec("service.update", _S, "service_id"),
    "api.patchService": Spec("service.update", _S, "service_id"),
    "api.deleteService": Spec("service.delete", _S, "service_id"),
    "api.createCheck": Spec("check.create", _C),
    "api.replaceCheck": Spec("check.update", _C, "check_id"),
    "api.patchCheck": Spec("check.update", _C, "check_id"),
    "api.deleteCheck": Spec("check.delete", _C, "check_id"),
    "api.runCheck": Spec("run_now", _C, "check_id", tracked=False),
    "api.createWaiver": Spec("waiver.create", _W),
    "api.deleteWaiver": Spec("waiver.delete", _W, "waiver_id"),
    "api.createAttestation": Spec("attestation.create", _A),
    "api.pushEvidence": Spec("evidence.push", _S, "service_id", tracked=False),
    "api.pushDeploy": Spec("deploy.record", _S, "service_id", tracked=False),
    "api.deleteAttestation": Spec("attestation.delete", _A, "attestation_id"),
    "api.createToken": Spec("token.create", _T),
    "api.revokeToken": Spec("token.revoke", _T, "token_id"),
    "api.createUser": Spec("user.create", _U),
    "api.patchUser": Spec("user.update", _U, "user_id"),
    "api.deleteUser": Spec("user.delete", _U, "user_id"),
    # dashboard forms
    "manage.service_new": Spec("service.create", _S),
    "manage.service_edit": Spec("service.update", _S, "name"),
    "manage.check_new": Spec("check.create", _C),
    "manage.check_edit": Spec("check.update", _C, "check_id"),
    "manage.run_now": Spec("run_now", _C, "check_id", tracked=False),
    "manage.waive": Spec("waiver.create", _W),
    "manage.unwaive": Spec("waiver.delete", _C, "check_id", watch=_W, match="check_id"),
    "manage.attest": Spec("attestation.create", _A),
    "manage.acknowledge": Spec("alert.ack", "transition", "transition_id", tracked=False),
    "manage.users": Spec("user.create", _U),
    "manage.user_update": Spec("user.update", _U, "user_id"),
    "manage.tokens": Spec("token.create", _T),
    "manage.token_revoke": Spec("token.revoke", _T, "token_id"),
    "auth.account": Spec("user.update", _U, "me"),
    "auth.totp_enrol": Spec("totp.enrol", _U, "me"),
    "auth.logout": Spec("logout", _U, "me", tracked=False),
}

#: the user form's ``action`` field names what it does
_USER_FORM = {"delete": ("user.delete", True), "revoke": ("user.sessions_revoke", False)}
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _token_actor() -> Actor:
    from web.api.auth import current_token

    token = current_token()
    return Actor("token", token.id, token.name) if token else Actor("anonymous")


def _user_actor() -> Actor:
    from web.auth import current_principal

    p = current_principal()
    if p is None or p.user_id is None:
        return Actor("anonymous")
    return Actor("user", p.user_id, p.username)


def _target(spec: Spec, args: dict[str, Any], actor: Actor) -> tuple[str | None, str]:
    if spec.id_arg is None:
        return None, ""
    if spec.id_arg == "me":
        return actor.id, actor.name
    if spec.id_arg == "name":
        svc = get_row_named(str(args.get("name", "")))
        return (svc.id, svc.name) if svc else (None, str(args.get("name", "")))
    target_id = str(args.get(spec.id_arg, ""))[:36]
    model = MODELS.get(spec.target_type) or (
        Transition if spec.target_type == "transition" else None
    )
    row = get_row(get_store(), model, target_id) if model is not None else None
    return target_id, name_of(row) if row is not None else ""


def get_row_named(name: str) -> Service | None:
    from auditor.store.service_admin import service_named

    return service_named(get_store(), name) if len(name) <= 63 else None


def _open() -> None:
    spec = ACTIONS.get(request.endpoint or "")
    if spec is None or request.method not in MUTATING:
        return
    if request.endpoint == "manage.user_update":
        action, tracked = _USER_FORM.get(request.form.get("action", ""), (spec.action, True))
        spec = Spec(action, spec.target_type, spec.id_arg, tracked)
    if request.endpoint == "auth.totp_enrol" and request.form.get("action") == "disable":
        spec = Spec("totp.disable", spec.target_type, spec.id_arg)
    api = (request.endpoint or "").startswith("api.")
    if api:
        actor_of: Callable[[], Actor] = _token_actor
    else:
        fixed = _user_actor()  # before the view: logout ends the session it names
        if fixed.kind == "anonymous":
            return  # the view refuses it (sign-in redirect, 403); nothing happens to record
        actor_of = lambda: fixed  # noqa: E731
    me = Actor("token") if api else actor_of()
    target_id, target_name = _target(spec, dict(request.view_args or {}), me)
    scope = AuditScope(
        action=spec.action,
        target_type=spec.target_type,
        actor=actor_of,
        origin=origin(),
        target_id=target_id,
        target_name=target_name,
        watch=spec.watch if spec.tracked else "none",
        match=spec.match,
    )
    g.audit_scope = (scope, spec.tracked, api, audit_log.activate(scope))


def finish(response: Response) -> Response:
    """Write an untracked action's event once the response says it succeeded."""
    opened = g.get("audit_scope")
    if opened is None:
        return response
    scope, tracked, api, _stop = opened
    if tracked or scope.written or response.headers.get("Idempotent-Replayed"):
        return response
    code = response.status_code
    if (api and 200 <= code < 300) or (not api and code in (302, 303)):
        try:
            audit_log.record(get_store(), scope)
        except Exception as exc:  # the action happened; a lost audit row is logged loudly
            log.error("audit_write_failed", action=scope.action, error=repr(exc))
    return response


def _close(_exc: BaseException | None) -> None:
    opened = g.pop("audit_scope", None)
    if opened is not None:
        with contextlib.suppress(ValueError):
            opened[3]()


def init_app(app: Flask) -> None:
    app.before_request(_open)
    app.after_request(finish)
    app.teardown_request(_close)
