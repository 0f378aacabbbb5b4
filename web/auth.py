"""Dashboard sign-in: server-side sessions, CSRF tokens, login rate limit, optional TOTP.

- The cookie holds a random token; the database keeps only its SHA-256 (``web_session.id``),
  so a database leak yields no usable session and logout / password change really end them
  (the Uptime Kuma CVE-2023-44400 / -49804 lesson).
- Cookie: ``__Host-auditor_session`` over HTTPS (``Secure``), ``auditor_session`` otherwise;
  always ``HttpOnly`` and ``SameSite=Lax``. Flask's signed client-side session is not used.
- Every POST form carries the session's CSRF token (the login form a double-submit token).
- Failed logins are throttled per account (any source) and per source (any account), see
  ``web.throttle``; the client address is the one ``web.proxy`` believes.
- TOTP (RFC 6238, ``pyotp``) is optional per user; the secret is drawn by the server
  (``web.mfa``), set up only with the current password, Fernet-encrypted with
  ``auditor.store.secrets``; each time-step's code is accepted once
  (``auditor.store.mfa``); ten single-use recovery codes are stored as SHA-256 hashes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from auditor.store.accounts import (
    change_user,
    check_password,
    get_user,
    has_users,
    hash_password,
    role_at_least,
    user_named,
)
from auditor.store.errors import NotFound
from auditor.store.lastuse import last_use
from auditor.store.mfa import accept_totp_counter
from auditor.store.models import User, WebSession, utcnow
from auditor.store.sessions import close_session, open_session, revoke_sessions, session_with_user
from web.context import get_config, get_store
from web.mfa import new_secret, seal_pending, totp_counter, unseal_pending
from web.signin_audit import login_event
from web.throttle import account_key, login_failed, login_succeeded, login_wait

bp = Blueprint("auth", __name__)

SESSION_IDLE = timedelta(hours=12)
SESSION_ABSOLUTE = timedelta(days=7)
LOGIN_CSRF_COOKIE = "auditor_login_csrf"
RECOVERY_CODES = 10
#: the one lock-out text, for existing and unknown usernames alike
LOCKED_OUT = "Too many failed sign-in attempts. Try again in {wait} seconds."
MIN_PASSWORD = 12

F = TypeVar("F", bound=Callable[..., Any])


# -- sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    user_id: str | None
    username: str
    role: str
    csrf_token: str
    session_id: str | None
    totp_enabled: bool = False

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    def can(self, role: str) -> bool:
        return role_at_least(self.role, role)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_https() -> bool:
    return request.is_secure or bool(current_app.config.get("AUDITOR_FORCE_SECURE_COOKIES"))


def cookie_name() -> str:
    return "__Host-auditor_session" if is_https() else "auditor_session"


def _set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=is_https(),
        httponly=True,
        samesite="Lax",
    )


def start_session(response: Response, user: User, *, mfa_pending: bool = False) -> str:
    """Create a server-side session for ``user`` and set its cookie; return the CSRF token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    open_session(
        get_store(),
        WebSession(
            id=_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            mfa_pending=mfa_pending,
            created_at=now,
            expires_at=now + (timedelta(minutes=10) if mfa_pending else SESSION_ABSOLUTE),
            last_seen_at=now,
        ),
    )
    _set_cookie(response, cookie_name(), token, None)
    return csrf


def end_session(response: Response) -> None:
    token = request.cookies.get(cookie_name())
    if token:
        close_session(get_store(), _digest(token), utcnow())
    response.delete_cookie(cookie_name(), path="/", secure=is_https(), samesite="Lax")


def revoke_user_sessions(user_id: str, *, keep: str | None = None) -> int:
    """End every live session of ``user_id`` (except ``keep``); returns how many."""
    return revoke_sessions(get_store(), user_id, utcnow(), keep=keep)


def _load_session(*, allow_pending: bool = False) -> tuple[WebSession, User] | None:
    token = request.cookies.get(cookie_name())
    if not token or len(token) > 256:
        return None
    now = utcnow()
    store = get_store()
    found = session_with_user(store, _digest(token))
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at is not None and now - row.last_seen_at > SESSION_IDLE:
        return None
    if row.mfa_pending and not allow_pending:
        return None
    if user is None or user.deleted_at is not None:
        return None
    if row.last_seen_at is None or (now - row.last_seen_at).total_seconds() > 60:
        # bookkeeping, written in the background: a request never waits for the write lock
        last_use(store).note("web_session", row.id, now)
    return row, user


def current_principal() -> Principal | None:
    """The signed-in user (cached per request), an anonymous viewer when allowed, or None."""
    if "auditor_principal" in g:
        return cast(Principal | None, g.auditor_principal)
    loaded = _load_session()
    principal: Principal | None = None
    if loaded is not None:
        row, user = loaded
        principal = Principal(
            user.id, user.username, user.role, row.csrf_token, row.id, bool(user.totp_secret)
        )
    elif get_config().auditor.anonymous_read:
        principal = Principal(None, "anonymous", "viewer", "", None)
    g.auditor_principal = principal
    return principal


def check_csrf(expected: str) -> None:
    sent = request.form.get("csrf_token", "")
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        abort(400, description="The form expired or did not come from this site; reload and retry.")


def login_required(role: str = "viewer") -> Callable[[F], F]:
    """Require a session with at least ``role``; POSTs must carry the session's CSRF token."""

    def deco(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None or (principal.anonymous and role != "viewer"):
                if request.method == "GET":
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                abort(401)
            if not principal.can(role):
                abort(403)
            if request.method == "POST":
                check_csrf(principal.csrf_token)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return deco


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("dashboard.overview")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.overview")
    if "\\" in target:
        return url_for("dashboard.overview")
    return target


# -- TOTP and recovery codes --------------------------------------------------------------


def _encrypt_secret(secret: str) -> str:
    from auditor.store import secrets as vault

    return vault.encrypt_json({"totp": secret})


def _decrypt_secret(stored: str) -> str | None:
    from auditor.store import secrets as vault

    try:
        return str(vault.decrypt_json(stored).get("totp") or "") or None
    except (vault.SecretKeyMissing, vault.SecretUndecryptable):
        return None


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").strip().lower().encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    plain = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    return plain, [_hash_code(c) for c in plain]


def use_recovery_code(user_id: str, code: str) -> bool:
    digest = _hash_code(code)
    used: list[str] = []

    def spend(user: User) -> None:
        codes = list(user.recovery_codes or [])
        for stored in codes:
            if hmac.compare_digest(stored, digest):
                codes.remove(stored)
                user.recovery_codes = codes
                user.updated_at = utcnow()
                used.append(stored)
                return

    try:
        change_user(get_store(), user_id, spend, utcnow())
    except NotFound:
        return False
    return bool(used)


# -- views --------------------------------------------------------------------------------


def _login_csrf() -> str:
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def _render_login(error: str | None = None, status: int = 200, username: str = "") -> Response:
    token = _login_csrf()
    response = make_response(
        render_template(
            "auth/login.html",
            error=error,
            username=username,
            login_csrf=token,
            next=request.values.get("next", ""),
            # no user yet: say how to make the first admin. Only a shell on the server can
            # (no web sign-up to race for), and the hint goes once a user exists
            first_run=not has_users(get_store()),
        ),
        status,
    )
    _set_cookie(response, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return _render_login()
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = request.form.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        return _render_login("The form expired; please try again.", 400)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or not password:
        return _render_login("Enter your username and password.", 400, username)
    key = account_key(username)
    wait = login_wait(key)
    if wait:
        # the same answer, after the same work, whether or not the account exists
        check_password(_DUMMY_HASH(), password)
        resp = _render_login(LOCKED_OUT.format(wait=wait), 429, username)
        resp.headers["Retry-After"] = str(wait)
        login_event("login.locked", username, None, "locked")
        return resp
    user = user_named(get_store(), username)
    if user is None:
        check_password(_DUMMY_HASH(), password)  # same work whether or not the user exists
        ok = False
    else:
        ok = check_password(user.password_hash, password)
    if not ok or user is None:
        login_failed(key)
        login_event("login.failure", username, user.id if user else None, "failure")
        return _render_login("Wrong username or password.", 401, username)
    login_succeeded(key)
    login_event(
        "login.success" if not user.totp_secret else "login.password_ok",
        username,
        user.id,
        "success",
    )
    target = _safe_next(request.form.get("next"))
    if user.totp_secret:
        response = redirect(url_for("auth.login_totp", next=target))
        start_session(response, user, mfa_pending=True)
        return response
    response = redirect(target)
    start_session(response, user)
    return response


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _DUMMY_HASH() -> str:
    return _dummy_hash()


@bp.route("/login/totp", methods=["GET", "POST"])
def login_totp() -> ResponseReturnValue:
    loaded = _load_session(allow_pending=True)
    if loaded is None or not loaded[0].mfa_pending:
        return redirect(url_for("auth.login"))
    row, user = loaded
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/totp.html", csrf=row.csrf_token, next=target, error=None)
    check_csrf(row.csrf_token)
    key = "totp:" + user.id
    wait = login_wait(key)
    if wait:
        login_event("login.locked", user.username, user.id, "locked")
        return render_template(
            "auth/totp.html",
            csrf=row.csrf_token,
            next=target,
            error=f"Too many wrong codes. Try again in {wait} seconds.",
        ), 429
    code = request.form.get("code", "").strip()
    secret = _decrypt_secret(user.totp_secret or "")
    counter = totp_counter(secret, code) if secret else None
    # a code is good once: its time-step must be later than the last one accepted
    ok = counter is not None and accept_totp_counter(get_store(), user.id, counter)
    if not ok and len(code) > 6:
        ok = use_recovery_code(user.id, code)
    if not ok:
        login_failed(key)
        login_event("login.failure", user.username, user.id, "failure")
        return render_template(
            "auth/totp.html",
            csrf=row.csrf_token,
            next=target,
            error="That code is not valid. Use the 6-digit code from your app or a recovery code.",
        ), 401
    login_succeeded(key)
    login_event("login.success", user.username, user.id, "success")
    response = redirect(target)
    # the half-authenticated session is replaced, not upgraded
    close_session(get_store(), row.id, utcnow())
    start_session(response, user)
    return response


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    loaded = _load_session(allow_pending=True)
    if loaded is not None:
        check_csrf(loaded[0].csrf_token)
    response = redirect(url_for("auth.login"))
    end_session(response)
    return response


def _validate_new_password(new: str, confirm: str, username: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(new) < MIN_PASSWORD:
        errors["new_password"] = f"Use at least {MIN_PASSWORD} characters."
    elif new.lower() == username.lower():
        errors["new_password"] = "The password must not be your username."
    if new != confirm:
        errors["confirm"] = "The two passwords differ."
    return errors


@bp.route("/account", methods=["GET", "POST"])
@login_required("viewer")
def account() -> ResponseReturnValue:
    principal = current_principal()
    assert principal is not None
    if principal.anonymous or principal.user_id is None:
        return redirect(url_for("auth.login"))
    errors: dict[str, str] = {}
    done = request.args.get("done")
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new = request.form.get("new_password", "")
        confirm = request.form.get("confirm", "")
        user = get_user(get_store(), principal.user_id)
        if not check_password(user.password_hash, current):
            errors["current_password"] = "The current password is wrong."
        errors.update(_validate_new_password(new, confirm, user.username))
        if not errors:
            now = utcnow()

            def set_password(fresh: User) -> None:
                fresh.password_hash = hash_password(new)
                fresh.password_changed_at = now
                fresh.updated_at = now

            change_user(get_store(), user.id, set_password, now)
            revoke_user_sessions(user.id)  # every session, this one included
            response = redirect(url_for("auth.account", done="password"))
            start_session(response, user)
            return response
    try:
        shown: User | None = get_user(get_store(), principal.user_id)
    except NotFound:
        shown = None
    return render_template(
        "auth/account.html",
        errors=errors,
        done=done,
        totp_enabled=bool(shown and shown.totp_secret),
        recovery_left=len(shown.recovery_codes or []) if shown else 0,
    ), (400 if errors else 200)


def _set_totp(
    user_id: str, secret: str | None, recovery_codes: list[str], counter: int | None = None
) -> None:
    """Turn two-factor sign-in on (a stored secret, and the step of the code that proved it,
    so that code cannot be replayed to sign in) or off (None) with its recovery codes."""

    def change(user: User) -> None:
        user.totp_secret = secret
        user.recovery_codes = recovery_codes
        user.totp_last_counter = counter
        user.updated_at = utcnow()

    change_user(get_store(), user_id, change, utcnow())


def _render_enrol(principal: Principal, error: str | None, status: int) -> ResponseReturnValue:
    """The set-up page with a fresh server-drawn secret (sealed into the form)."""
    import pyotp
    import segno

    assert principal.user_id is not None
    secret = new_secret()
    try:
        sealed = seal_pending(secret, principal.user_id, principal.session_id)
    except Exception as exc:  # SecretKeyMissing: the operator has not set a key
        error, status = f"Two-factor sign-in cannot be stored: {exc}", 400
        return render_template("auth/totp_enrol.html", secret=None, error=error), status
    uri = pyotp.TOTP(secret).provisioning_uri(name=principal.username, issuer_name="Auditor")
    qr = segno.make(uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff")
    return render_template(
        "auth/totp_enrol.html", secret=secret, sealed=sealed, qr=qr, error=error, uri=uri
    ), status


def _enrol_problem(principal: Principal, user: User) -> str | int:
    """Why this enrolment POST is refused (a message), or the accepted code's time-step."""
    if "secret" in request.form:
        return (
            "secret: the two-factor secret is drawn by the server; "
            "a form may not choose it. Scan the code shown on this page."
        )
    key = account_key(user.username)
    wait = login_wait(key)
    if wait:
        return LOCKED_OUT.format(wait=wait)
    if not check_password(user.password_hash, request.form.get("password", "")):
        login_failed(key)  # a stolen session must not become a password oracle
        return "password: enter your current password to turn on two-factor sign-in."
    assert principal.user_id is not None
    secret = unseal_pending(request.form.get("enrolment", ""), user.id, principal.session_id)
    if secret is None:
        return "This set-up page expired; scan the new code below and enter its code."
    counter = totp_counter(secret, request.form.get("code", ""))
    if counter is None:
        return "That code does not match; check your device's clock and try again."
    g.auditor_totp_secret = secret
    return counter


@bp.route("/account/totp", methods=["GET", "POST"])
@login_required("viewer")
def totp_enrol() -> ResponseReturnValue:
    principal = current_principal()
    assert principal is not None and principal.user_id is not None
    if request.method == "GET":
        return _render_enrol(principal, None, 200)
    user = get_user(get_store(), principal.user_id)
    if request.form.get("action") == "disable":
        if not check_password(user.password_hash, request.form.get("password", "")):
            return redirect(url_for("auth.account", done="totp_wrong_password"))
        _set_totp(principal.user_id, None, [])
        return redirect(url_for("auth.account", done="totp_off"))
    outcome = _enrol_problem(principal, user)
    if isinstance(outcome, str):
        return _render_enrol(principal, outcome, 400)
    try:
        stored = _encrypt_secret(g.auditor_totp_secret)
    except Exception as exc:  # SecretKeyMissing: the operator has not set a key
        return _render_enrol(principal, f"Two-factor sign-in cannot be stored: {exc}", 400)
    plain, hashed = new_recovery_codes()
    _set_totp(principal.user_id, stored, hashed, outcome)
    revoke_user_sessions(principal.user_id, keep=principal.session_id)
    return render_template("auth/recovery.html", codes=plain)
