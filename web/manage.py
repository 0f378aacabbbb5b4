"""Operator and admin forms: services, checks, run now, attestations, waivers, acks, users, tokens.

Forms validate through the same code as the configuration file (``ServiceModel`` and
``build_check``) and show one message per field. Rows created here get ``source="api"`` so
a configuration sync never disables them. Every POST carries the session's CSRF token
(checked by :func:`web.auth.login_required`).
"""

from __future__ import annotations

import asyncio
import re
import tomllib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from pydantic import ValidationError

from auditor.alerting.outbox import acknowledge as acknowledge_alerts
from auditor.config import PRODUCTION_PROFILE, ServiceModel, build_check, validation_problems
from auditor.config.sync import apply_check_config
from auditor.readiness.waivers import MAX_WAIVER_DAYS, validate_waiver
from auditor.store import secret_moves, service_url
from auditor.store import secrets as vault
from auditor.store.accounts import (
    ROLES,
    all_tokens,
    change_user,
    create_token,
    create_user,
    live_users,
    revoke_token,
)
from auditor.store.check_admin import (
    add_check,
    change_check,
    check_named,
    find_check,
)
from auditor.store.errors import NotFound
from auditor.store.listing import get_row
from auditor.store.models import (
    Attestation,
    Check,
    CheckState,
    Service,
    Transition,
    User,
    Waiver,
    utcnow,
)
from auditor.store.oversight import add_attestation, add_waiver, withdraw_check_waivers
from auditor.store.service_admin import (
    Taken,
    add_service,
    change_service,
    live_check_counts,
    live_services,
    service_named,
)
from auditor.store.sources import is_discovered
from web.auth import current_principal, login_required, revoke_user_sessions
from web.checklist import checklist_items, unknown_item
from web.context import get_config, get_store
from web.dashboard import render_error
from web.tiers import config_only_fields, form_problems

bp = Blueprint("manage", __name__, url_prefix="/manage")
for _code in (400, 401, 403, 404, 405, 409):
    bp.register_error_handler(_code, render_error)

SERVICE_FIELDS = ("name", "url", "environment", "owner", "tags", "profile", "description")
CHECK_FIELDS = (
    "kind",
    "name",
    "interval",
    "timeout",
    "schedule",
    "severity",
    "level",
    "failure_threshold",
    "success_threshold",
    "description",
)
SEVERITIES = ("critical", "high", "medium", "low", "info")
LEVELS = ("bronze", "silver", "gold")


def _who() -> str:
    p = current_principal()
    return p.username if p else "?"


def field_errors(problems: list[str], prefix: str, fields: tuple[str, ...]) -> dict[str, str]:
    """Turn ``"prefix.field: message"`` problems into {field: message}; the rest → options."""
    out: dict[str, str] = {}
    for problem in problems:
        path, _, message = problem.partition(": ")
        path = path.removeprefix(prefix).lstrip(".")
        key = re.split(r"[.\[]", path, maxsplit=1)[0] if path else "_"
        if key not in fields:
            message = f"{path}: {message}" if path else message
            key = "options" if "options" in fields or key != "_" else "_"
        out[key] = f"{out[key]}; {message}" if key in out else message
    return out


def _svc_or_404(name: str) -> Service:
    svc = service_named(get_store(), name)
    if svc is None:
        abort(404, description=f"No service named {name!r}.")
    return svc


def _editable(svc: Service) -> None:
    """Discovered services change at their source; here only waivers and attestations."""
    if is_discovered(svc.source):
        abort(
            409,
            description=f"{svc.name} was discovered ({svc.source} {svc.source_ref}): change it "
            "there. Waivers and attestations can still be added here.",
        )


def _check_or_404(check_id: str) -> tuple[Check, Service]:
    found = find_check(get_store(), check_id) if len(check_id) <= 36 else None
    if found is None:
        abort(404, description="No such check.")
    return found


def config_file() -> str | None:
    """The path of the configuration file this server loaded (None: built in memory)."""
    return get_config().path


def _refuse_config_managed(row: Service | Check, what: str) -> None:
    """A row the configuration file defines is read-only here, as in the API (409
    ``managed_by_config``): the next start would put the file's values back."""
    if row.source == "config":
        where = (
            f"the configuration file {config_file()}" if config_file() else "the configuration file"
        )
        abort(
            409,
            description=(
                f"{what} is managed by {where}, so the dashboard cannot change it: edit it "
                "in that file instead. Waivers, attestations and run-now still work here."
            ),
        )


def _stored(write: Callable[[], object], missing: str = "No such check.") -> None:
    """Run a repository write; a row deleted meanwhile is the page's 404."""
    try:
        write()
    except NotFound:
        abort(404, description=missing)


# -- index --------------------------------------------------------------------------------


@bp.get("/")
@login_required("operator")
def index() -> ResponseReturnValue:
    services = live_services(get_store())
    counts = live_check_counts(get_store())
    return render_template(
        "manage/index.html", services=services, counts=counts, done=request.args.get("done")
    )


# -- services -----------------------------------------------------------------------------


def _service_raw(form: Any) -> dict[str, Any]:
    tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    raw: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "url": form.get("url", "").strip(),
        "environment": form.get("environment", "").strip() or "production",
        "owner": form.get("owner", "").strip(),
        "tags": tags,
        "public": bool(form.get("public")),
        "description": form.get("description", "").strip(),
        "enabled": bool(form.get("enabled")),
    }
    if form.get("profile"):
        raw["profile"] = form.get("profile")
    return raw


def validate_service(raw: dict[str, Any], *, existing_id: str | None) -> dict[str, str]:
    try:
        ServiceModel.model_validate(raw)
    except ValidationError as exc:
        return field_errors(validation_problems("service", exc), "service", SERVICE_FIELDS)
    other = service_named(get_store(), raw["name"], include_deleted=True)
    if other is not None and other.id != existing_id:
        return {"name": "another service already has this name"}
    return {}


def _profile_checks(svc: Service, now: datetime) -> list[tuple[Check, CheckState]]:
    settings = get_config().auditor
    out = []
    for i, default in enumerate(PRODUCTION_PROFILE):
        cfg, _problems = build_check(dict(default), settings, f"profile[{i}]")
        if cfg is None:
            continue
        chk = Check(service_id=svc.id, name=cfg.name, kind=cfg.kind)
        apply_check_config(chk, cfg, enabled=svc.enabled, now=now, source="api")
        chk.next_run_at = now
        out.append((chk, CheckState(check_id=chk.id, service_id=svc.id, updated_at=now)))
    return out


@bp.route("/services/new", methods=["GET", "POST"])
@login_required("operator")
def service_new() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"environment": "production", "enabled": True, "tags": []}
    if request.method == "POST":
        values = _service_raw(request.form)
        errors = validate_service(values, existing_id=None)
        if not errors:
            now = utcnow()
            svc = Service(
                name=values["name"],
                url="",
                environment=values["environment"],
                owner=values["owner"],
                tags=values["tags"],
                profile=values.get("profile"),
                public=values["public"],
                description=values["description"],
                enabled=values["enabled"],
                source="api",
                created_at=now,
                updated_at=now,
            )
            errors = _keep_url(svc, ServiceModel.model_validate(values).url, change=False)
        if not errors:
            first = _profile_checks(svc, now) if values.get("profile") == "production" else []
            add_service(get_store(), svc, first)
            return redirect(url_for("dashboard.service", name=svc.name, done="saved"))
    return render_template("manage/service_form.html", errors=errors, values=values, svc=None), (
        400 if errors else 200
    )


@bp.route("/services/<name>/edit", methods=["GET", "POST"])
@login_required("operator")
def service_edit(name: str) -> ResponseReturnValue:
    svc = _svc_or_404(name)
    _editable(svc)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {k: getattr(svc, k) for k in (*SERVICE_FIELDS, "public", "enabled")}
    values["url"] = service_url.shown_url(svc)  # never pre-filled with credentials
    if request.method == "POST":
        _refuse_config_managed(svc, f"Service {svc.name!r}")
        values = _service_raw(request.form)
        errors = validate_service(values, existing_id=svc.id)
        dropped: list[str] = []
        if not errors:
            url = ServiceModel.model_validate(values).url
            errors = _keep_url(Service(url=svc.url, name=svc.name), url, change=True)
        if not errors:

            def change(row: Service, _taken: Taken) -> None:
                for key in ("name", "environment", "owner", "tags", "public", "description"):
                    setattr(row, key, values[key])
                dropped.extend(service_url.change_url(row, url))
                row.profile = values.get("profile")
                row.enabled = values["enabled"]

            _stored(
                lambda: change_service(
                    get_store(), svc.id, change, cascade_enabled=True, dropped=dropped
                ),
                "No such service.",
            )
            return _saved(values["name"], dropped)
    return render_template(
        "manage/service_form.html",
        errors=errors,
        values=values,
        svc=svc,
        config_file=config_file(),
    ), (400 if errors else 200)


def _keep_url(svc: Service, url: str, *, change: bool) -> dict[str, str]:
    """Store the URL's credentials encrypted; the form's errors if that cannot be done."""
    try:
        if change:
            service_url.change_url(svc, url)
        else:
            service_url.store_url(svc, url)
    except service_url.RedactedUrl as exc:
        return {"url": str(exc)}
    except vault.SecretKeyMissing:
        return {"url": "a URL with credentials needs AUDITOR_SECRET_KEY on the server"}
    return {}


def _saved(service: str, dropped: list[str]) -> ResponseReturnValue:
    """Back to the service page; secrets dropped by a move to another host are named there."""
    named = ", ".join(sorted(dropped)) or None  # url_for leaves out a None value
    return redirect(url_for("dashboard.service", name=service, done="saved", dropped=named))


# -- checks -------------------------------------------------------------------------------


def _duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= n and seconds % n == 0:
            return f"{int(seconds // n)}{unit}"
    return f"{seconds:g}s"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return '""'


def options_text(options: dict[str, Any]) -> str:
    return "\n".join(f"{k} = {_toml_value(v)}" for k, v in options.items())


def _check_raw(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    raw: dict[str, Any] = {"kind": form.get("kind", "").strip()}
    errors: dict[str, str] = {}
    for key in ("name", "interval", "timeout", "schedule", "description"):
        value = form.get(key, "").strip()
        if value:
            raw[key] = value
    for key in ("severity", "level"):
        if form.get(key):
            raw[key] = form.get(key)
    for key in ("failure_threshold", "success_threshold"):
        value = form.get(key, "").strip()
        if value:
            try:
                raw[key] = int(value)
            except ValueError:
                errors[key] = "must be a whole number"
    raw["blocking"] = bool(form.get("blocking"))
    raw["enabled"] = bool(form.get("enabled"))
    text = form.get("options", "")
    try:
        options = tomllib.loads(text) if text.strip() else {}
    except tomllib.TOMLDecodeError as exc:
        errors["options"] = f"not valid TOML key = value lines ({exc})"
        options = {}
    for key in options:
        if key in raw or key in ("kind", "enabled", "blocking"):
            errors["options"] = f"{key!r} has its own field; remove it from the options"
    raw.update({k: v for k, v in options.items() if k not in raw})
    return raw, errors


def validate_check(
    raw: dict[str, Any], errors: dict[str, str], svc: Service, existing_id: str | None
) -> Any:
    fields = (*CHECK_FIELDS, "options")
    refused = form_problems(raw)  # the API tier (DESIGN §9), before anything reads a file
    if refused:
        errors["options"] = refused
        return None
    cfg, problems = build_check(raw, get_config().auditor, "check")
    errors.update(field_errors(problems, "check", fields))
    if cfg is None:
        return None
    _plain, secret = vault.split_options(cfg.raw_options)
    if secret:
        errors["options"] = (
            f"{', '.join(sorted(secret))}: secrets are never stored in plain text; "
            "use the option's *_env form naming an environment variable"
        )
    other = check_named(get_store(), svc.id, cfg.name)
    if other is not None and other.id != existing_id:
        errors["name"] = f"this service already has a check named {cfg.name!r}"
    return None if errors else cfg


def _kinds() -> list[str]:
    from checks.registry import known_kinds

    return known_kinds()


def _check_form(
    errors: dict[str, str], values: dict[str, Any], svc: Service, chk: Check | None
) -> ResponseReturnValue:
    """The check form; it offers only what the API tier allows (DESIGN §9)."""
    page = render_template(
        "manage/check_form.html",
        errors=errors,
        values=values,
        svc=svc,
        chk=chk,
        kinds=_kinds(),
        config_only=config_only_fields(),
        config_file=config_file(),
    )
    return page, (400 if errors else 200)


@bp.route("/services/<name>/checks/new", methods=["GET", "POST"])
@login_required("operator")
def check_new(name: str) -> ResponseReturnValue:
    svc = _svc_or_404(name)
    _editable(svc)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "kind": request.args.get("kind", "health"),
        "enabled": True,
        "severity": "high",
        "level": "bronze",
        "options": "",
    }
    if request.method == "POST":
        raw, errors = _check_raw(request.form)
        values = {**request.form.to_dict(), "enabled": raw["enabled"], "blocking": raw["blocking"]}
        cfg = validate_check(raw, errors, svc, None)
        if cfg is not None:
            now = utcnow()

            def make(live: Service, _taken: Taken) -> Check:
                chk = Check(service_id=live.id, name=cfg.name, kind=cfg.kind)
                enabled = cfg.common.enabled and live.enabled
                apply_check_config(chk, cfg, enabled=enabled, now=now, source="api")
                chk.next_run_at = now
                return chk

            _stored(lambda: add_check(get_store(), svc.id, make, now))
            return redirect(url_for("dashboard.service", name=svc.name, done="saved"))
    return _check_form(errors, values, svc, None)


@bp.route("/checks/<check_id>/edit", methods=["GET", "POST"])
@login_required("operator")
def check_edit(check_id: str) -> ResponseReturnValue:
    chk, svc = _check_or_404(check_id)
    _editable(svc)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "kind": chk.kind,
        "name": chk.name,
        "interval": "" if chk.schedule else _duration_text(chk.interval_s),
        "timeout": _duration_text(chk.timeout_s),
        "schedule": chk.schedule or "",
        "severity": chk.severity,
        "level": chk.level,
        "failure_threshold": chk.failure_threshold,
        "success_threshold": chk.success_threshold,
        "description": chk.description,
        "blocking": chk.blocking,
        "enabled": chk.enabled,
        "options": options_text(vault.redact_options(*vault.split_options(chk.options or {}))),
    }
    if request.method == "POST":
        _refuse_config_managed(chk, f"Check {chk.name!r} of {svc.name!r}")
        raw, errors = _check_raw(request.form)
        raw["kind"] = chk.kind  # the kind of an existing check does not change
        values = {**request.form.to_dict(), "kind": chk.kind}
        values.update(enabled=raw["enabled"], blocking=raw["blocking"])
        cfg = validate_check(raw, errors, svc, chk.id)
        if cfg is not None:
            now = utcnow()
            dropped: list[str] = []

            def change(row: Check, _taken: Taken) -> None:
                enabled = cfg.common.enabled and svc.enabled
                before = secret_moves.full_options_of(row)
                if apply_check_config(row, cfg, enabled=enabled, now=now, source="api"):
                    row.next_run_at = now
                dropped.extend(secret_moves.drop_if_moved(row, before, svc.url))

            _stored(lambda: change_check(get_store(), svc.id, chk.id, change))
            return _saved(svc.name, [f"checks.{cfg.name}.{p}" for p in dropped])
    return _check_form(errors, values, svc, chk)


@bp.post("/checks/<check_id>/run")
@login_required("operator")
def run_now(check_id: str) -> ResponseReturnValue:
    """Run one check now, synchronously, and store it like ``auditor audit`` does."""
    from auditor.audit import run_now as run_check_now

    chk, svc = _check_or_404(check_id)
    if asyncio.run(run_check_now(get_config(), get_store(), chk.id, role="web")) is None:
        abort(409, description="This check (or its service) is disabled; enable it first.")
    return redirect(url_for("dashboard.service", name=svc.name, done="run") + f"#check-{chk.name}")


# -- waivers, attestations, acknowledgements ------------------------------------------------


def _parse_expiry(value: str, now: datetime) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return now + timedelta(days=int(value))
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=now.tzinfo)
    if len(value) == 10:  # a date: valid through the end of that day
        at = at + timedelta(days=1) - timedelta(seconds=1)
    return at


@bp.route("/checks/<check_id>/waive", methods=["GET", "POST"])
@login_required("operator")
def waive(check_id: str) -> ResponseReturnValue:
    chk, svc = _check_or_404(check_id)
    errors: dict[str, str] = {}
    values = {"reason": "", "expires": "14"}
    if request.method == "POST":
        now = utcnow()
        values = {
            "reason": request.form.get("reason", "").strip(),
            "expires": request.form.get("expires", ""),
        }
        expires = _parse_expiry(values["expires"], now)
        if values["expires"].strip() and expires is None:
            errors["expires"] = "enter a number of days or a date (YYYY-MM-DD)"
        try:
            validate_waiver(values["reason"], expires, now) if not errors else None
        except ValueError as exc:
            msg = str(exc)
            errors["reason" if "reason" in msg else "expires"] = msg
        if not errors and expires is not None:
            waiver = Waiver(
                check_id=chk.id,
                reason=values["reason"][:2000],
                created_by=_who(),
                expires_at=expires,
                created_at=now,
                updated_at=now,
            )
            _stored(lambda: add_waiver(get_store(), waiver))
            return redirect(url_for("dashboard.service", name=svc.name, done="waived"))
    return render_template(
        "manage/waive.html",
        errors=errors,
        values=values,
        chk=chk,
        svc=svc,
        max_days=MAX_WAIVER_DAYS,
    ), (400 if errors else 200)


@bp.post("/checks/<check_id>/unwaive")
@login_required("operator")
def unwaive(check_id: str) -> ResponseReturnValue:
    chk, svc = _check_or_404(check_id)
    withdraw_check_waivers(get_store(), chk.id, utcnow())
    return redirect(url_for("dashboard.service", name=svc.name, done="unwaived"))


@bp.route("/services/<name>/attest", methods=["GET", "POST"])
@login_required("operator")
def attest(name: str) -> ResponseReturnValue:
    svc = _svc_or_404(name)
    items = checklist_items(get_store(), svc)
    asked = request.args.get("item", "")
    errors: dict[str, str] = {}
    values = {
        "item": asked if asked in items else (items[0] if items else ""),
        "evidence_url": "",
        "comment": "",
        "valid_days": "90",
    }
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in values}
        if not values["item"]:
            errors["item"] = "choose the checklist item you are signing"
        elif problem := unknown_item(values["item"], items):
            errors["item"] = problem
        url = values["evidence_url"]
        if url and not re.match(r"^https?://[^\s/]+\S*$", url):
            errors["evidence_url"] = "must be an http:// or https:// link"
        if not values["comment"]:
            errors["comment"] = "say what was done (a comment is required)"
        days = values["valid_days"]
        if not days.isdigit() or not 1 <= int(days) <= 730:
            errors["valid_days"] = "a whole number of days between 1 and 730"
        if not errors:
            now = utcnow()
            signed = Attestation(
                service_id=svc.id,
                item=values["item"],
                signed_by=_who(),
                evidence_url=url or None,
                comment=values["comment"][:4000],
                signed_at=now,
                expires_at=now + timedelta(days=int(days)),
                created_at=now,
                updated_at=now,
            )
            _stored(lambda: add_attestation(get_store(), signed), "No such service.")
            return redirect(url_for("dashboard.service", name=svc.name, done="attested"))
    return render_template(
        "manage/attest.html", errors=errors, values=values, svc=svc, items=items
    ), (400 if errors else 200)


@bp.post("/transitions/<transition_id>/ack")
@login_required("operator")
def acknowledge(transition_id: str) -> ResponseReturnValue:
    """Record who acknowledged a state change on the check's alert state (notes.ack)."""
    tr = get_row(get_store(), Transition, transition_id) if len(transition_id) <= 36 else None
    svc = get_row(get_store(), Service, tr.service_id) if tr else None
    if tr is None or svc is None:
        abort(404, description="No such transition.")
    acknowledge_alerts(get_store(), tr.check_id, tr.id, _who(), utcnow())
    return redirect(url_for("dashboard.service", name=svc.name, done="ack") + "#tr-h")


# -- admin: users and tokens ----------------------------------------------------------------


@bp.route("/users", methods=["GET", "POST"])
@login_required("admin")
def users() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    values = {"username": "", "role": "viewer"}
    if request.method == "POST":
        values = {
            "username": request.form.get("username", "").strip(),
            "role": request.form.get("role", ""),
        }
        password = request.form.get("password", "")
        if not re.match(r"^[A-Za-z0-9._@-]{2,63}$", values["username"]):
            errors["username"] = "2–63 letters, digits, '.', '_', '@' or '-'"
        if values["role"] not in ROLES:
            errors["role"] = f"one of {', '.join(ROLES)}"
        if len(password) < 12:
            errors["password"] = "at least 12 characters"
        if not errors:
            try:
                create_user(
                    get_store(), username=values["username"], role=values["role"], password=password
                )
            except ValueError as exc:
                errors["username"] = str(exc)
            else:
                return redirect(url_for("manage.users", done="created"))
    rows = live_users(get_store())
    return render_template(
        "manage/users.html",
        users=rows,
        errors=errors,
        values=values,
        roles=ROLES,
        done=request.args.get("done"),
    ), (400 if errors else 200)


@bp.post("/users/<user_id>/update")
@login_required("admin")
def user_update(user_id: str) -> ResponseReturnValue:
    action = request.form.get("action", "")
    me = current_principal()
    now = utcnow()

    def change(user: User) -> None:
        if me is not None and user.id == me.user_id and action in ("role", "delete"):
            abort(400, description="You cannot change your own role or delete yourself.")
        if action == "role":
            role = request.form.get("role", "")
            if role not in ROLES:
                abort(400, description=f"role must be one of {', '.join(ROLES)}")
            user.role = role
        elif action == "delete":
            user.deleted_at = now
        elif action == "reset_mfa":
            user.totp_secret = None
            user.recovery_codes = []
        elif action != "revoke":
            abort(400, description="Unknown action.")
        user.updated_at = now

    if len(user_id) > 36:
        abort(404, description="No such user.")
    _stored(lambda: change_user(get_store(), user_id, change, now), "No such user.")
    revoke_user_sessions(user_id)  # any change to a user ends their sessions
    return redirect(url_for("manage.users", done=action))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required("admin")
def tokens() -> ResponseReturnValue:
    errors: dict[str, str] = {}
    values = {"name": "", "role": "viewer", "expires_days": ""}
    created: str | None = None
    if request.method == "POST":
        values = {k: request.form.get(k, "").strip() for k in values}
        if not re.match(r"^[A-Za-z0-9._ -]{1,63}$", values["name"]):
            errors["name"] = "1–63 letters, digits, spaces, '.', '_' or '-'"
        if values["role"] not in ROLES:
            errors["role"] = f"one of {', '.join(ROLES)}"
        days = values["expires_days"]
        now = utcnow()
        expires_at = None
        if days and not days.isdigit():
            errors["expires_days"] = "a whole number of days, or empty for the default"
        else:
            try:
                asked = now + timedelta(days=min(int(days), 100_000)) if days else None
                expires_at = get_config().web.token_expiry(asked, now)
            except ValueError as exc:
                errors["expires_days"] = str(exc)
        if not errors:
            me = current_principal()
            _row, created = create_token(
                get_store(),
                name=values["name"],
                role=values["role"],
                expires_at=expires_at,
                created_by=_who(),
                creator_user_id=me.user_id if me else None,
            )
    rows = all_tokens(get_store())
    return render_template(
        "manage/tokens.html",
        tokens=rows,
        errors=errors,
        values=values,
        roles=ROLES,
        created=created,
        now=utcnow(),
        ttl_days=f"{get_config().web.token_ttl / 86400:g}",
        max_days=f"{get_config().web.token_max_ttl / 86400:g}",
    ), (400 if errors else 200)


@bp.post("/tokens/<token_id>/revoke")
@login_required("admin")
def token_revoke(token_id: str) -> ResponseReturnValue:
    if len(token_id) > 36:
        abort(404, description="No such token.")
    _stored(lambda: revoke_token(get_store(), token_id, utcnow()), "No such token.")
    return redirect(url_for("manage.tokens"))
