"""``/tokens`` and ``/users`` (admin only). A new token's secret is shown once, at creation."""

from __future__ import annotations

from typing import Any

from flask import Response
from sqlmodel import col, select

from auditor.store.accounts import create_token, end_sessions, hash_password
from auditor.store.models import ApiToken, User, utcnow
from web import get_store
from web.api import bp
from web.api.auth import current_token
from web.api.envelope import ApiError, Filter, ListSpec, not_found, ok, parse_list_args
from web.api.openapi import route
from web.api.query import paginate
from web.api.schemas import (
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserPatch,
    validation_error,
)

ROLES = ("viewer", "operator", "admin")

TOKENS = ListSpec(
    sort_fields=("created_at", "name", "last_used_at"),
    default_sort="-created_at",
    filters={
        "role": Filter("enum", ROLES, column=ApiToken.role),
        "name": Filter(column=ApiToken.name),
        "revoked": Filter(
            "bool",
            apply=lambda st, v: st.where(
                col(ApiToken.revoked_at).is_not(None) if v else col(ApiToken.revoked_at).is_(None)
            ),
        ),
    },
)
USERS = ListSpec(
    sort_fields=("username", "created_at"),
    default_sort="username",
    filters={
        "role": Filter("enum", ROLES, column=User.role),
        "include_deleted": Filter("bool", apply=lambda st, v: st),
    },
)


def token_json(row: ApiToken) -> dict[str, Any]:
    return TokenOut.model_validate(row, from_attributes=True).model_dump(mode="json")


def user_json(row: User) -> dict[str, Any]:
    data = row.model_dump(exclude={"password_hash", "totp_secret", "recovery_codes"})
    data["mfa_enabled"] = bool(row.totp_secret)
    return UserOut.model_validate(data).model_dump(mode="json")


@route(
    bp,
    "/tokens",
    "GET",
    op_id="listTokens",
    summary="List API tokens (never their secrets)",
    tag="admin",
    role="admin",
    response=TokenOut,
    many=True,
    list_spec=TOKENS,
)
def list_tokens() -> Response:
    page, sort, filters = parse_list_args(TOKENS)
    with get_store().read() as s:
        return paginate(s, select(ApiToken), ApiToken, TOKENS, page, sort, filters, token_json)


@route(
    bp,
    "/tokens",
    "POST",
    op_id="createToken",
    summary="Create an API token; the secret is in the response, once",
    tag="admin",
    role="admin",
    body=TokenCreate,
    response=TokenCreated,
    status=201,
    links={
        "GetToken": {
            "operationId": "getToken",
            "parameters": {"token_id": "$response.body#/data/id"},
        },
        "RevokeToken": {
            "operationId": "revokeToken",
            "parameters": {"token_id": "$response.body#/data/id"},
        },
    },
)
def create_api_token(body: TokenCreate) -> Response:
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise validation_error({"expires_at": "must be in the future"})
    me = current_token()
    row, plaintext = create_token(
        get_store(),
        name=body.name,
        role=body.role,
        expires_at=body.expires_at,
        created_by=f"token:{me.name}" if me else "api",
    )
    data = token_json(row)
    data["token"] = plaintext
    return ok(TokenCreated.model_validate(data).model_dump(mode="json"), 201)


@route(
    bp,
    "/tokens/{token_id}",
    "GET",
    op_id="getToken",
    summary="Get an API token",
    tag="admin",
    role="admin",
    response=TokenOut,
)
def get_api_token(token_id: str) -> Response:
    with get_store().read() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise not_found("token")
        return ok(token_json(row))


@route(
    bp,
    "/tokens/{token_id}",
    "DELETE",
    op_id="revokeToken",
    summary="Revoke an API token (effective immediately)",
    tag="admin",
    role="admin",
    response=TokenOut,
)
def revoke_api_token(token_id: str) -> Response:
    now = utcnow()
    with get_store().write() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise not_found("token")
        if row.revoked_at is None:
            row.revoked_at = now
            row.updated_at = now
            s.add(row)
    return ok(token_json(row))


@route(
    bp,
    "/users",
    "GET",
    op_id="listUsers",
    summary="List dashboard users",
    tag="admin",
    role="admin",
    response=UserOut,
    many=True,
    list_spec=USERS,
)
def list_users() -> Response:
    page, sort, filters = parse_list_args(USERS)
    stmt = select(User)
    if not filters.pop("include_deleted", False):
        stmt = stmt.where(col(User.deleted_at).is_(None))
    with get_store().read() as s:
        return paginate(s, stmt, User, USERS, page, sort, filters, user_json)


@route(
    bp,
    "/users",
    "POST",
    op_id="createUser",
    summary="Create a dashboard user",
    tag="admin",
    role="admin",
    body=UserCreate,
    response=UserOut,
    status=201,
    errors=(409,),
    links={
        "GetUser": {"operationId": "getUser", "parameters": {"user_id": "$response.body#/data/id"}},
        "DeleteUser": {
            "operationId": "deleteUser",
            "parameters": {"user_id": "$response.body#/data/id"},
        },
    },
)
def create_app_user(body: UserCreate) -> Response:
    now = utcnow()
    row = User(
        username=body.username,
        role=body.role,
        password_hash=hash_password(body.password),
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    with get_store().write() as s:
        if s.exec(select(User.id).where(col(User.username) == body.username)).first():
            raise ApiError(
                409,
                "conflict",
                f"user {body.username!r} already exists",
                [{"field": "username", "message": "already exists"}],
            )
        s.add(row)
    return ok(user_json(row), 201)


def _load_user(s: Any, user_id: str) -> User:
    row = s.get(User, user_id)
    if row is None or row.deleted_at is not None:
        raise not_found("user")
    return row  # type: ignore[no-any-return]


@route(
    bp,
    "/users/{user_id}",
    "GET",
    op_id="getUser",
    summary="Get a user",
    tag="admin",
    role="admin",
    response=UserOut,
)
def get_app_user(user_id: str) -> Response:
    with get_store().read() as s:
        return ok(user_json(_load_user(s, user_id)))


@route(
    bp,
    "/users/{user_id}",
    "PATCH",
    op_id="patchUser",
    summary="Change a user's role or password (a new password ends their sessions)",
    tag="admin",
    role="admin",
    body=UserPatch,
    response=UserOut,
)
def patch_app_user(user_id: str, body: UserPatch) -> Response:

    now = utcnow()
    with get_store().write() as s:
        row = _load_user(s, user_id)
        if body.role is not None:
            row.role = body.role
        if body.password is not None:
            row.password_hash = hash_password(body.password)
            row.password_changed_at = now
        if body.password is not None or body.role is not None:
            end_sessions(s, row.id, now)
        row.updated_at = now
        s.add(row)
    return ok(user_json(row))


@route(
    bp,
    "/users/{user_id}",
    "DELETE",
    op_id="deleteUser",
    summary="Delete a user (soft; their sessions end)",
    tag="admin",
    role="admin",
    response=UserOut,
)
def delete_app_user(user_id: str) -> Response:

    now = utcnow()
    with get_store().write() as s:
        row = _load_user(s, user_id)
        row.deleted_at = now
        row.updated_at = now
        s.add(row)
        end_sessions(s, row.id, now)
    return ok(user_json(row))
