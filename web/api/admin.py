"""``/tokens`` and ``/users`` (admin only). A new token's secret is shown once, at creation."""

from __future__ import annotations

from typing import Any

from flask import Response

from auditor.store.accounts import (
    add_user,
    change_user,
    create_token,
    get_user,
    hash_password,
    revoke_token,
)
from auditor.store.errors import NameTaken
from auditor.store.listing import get_row
from auditor.store.models import ApiToken, User, utcnow
from web.api.auth import current_token
from web.api.blueprint import bp, route
from web.api.envelope import ApiError, Filter, ListSpec, not_found, ok, parse_list_args
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
from web.context import get_config, get_store

ROLES = ("viewer", "operator", "admin")

TOKENS = ListSpec(
    sort_fields=("created_at", "name", "last_used_at"),
    default_sort="-created_at",
    filters={
        "role": Filter("enum", ROLES),
        "name": Filter(),
        "revoked": Filter("bool", field="revoked_at", op="set"),
    },
)
USERS = ListSpec(
    sort_fields=("username", "created_at"),
    default_sort="username",
    filters={
        "role": Filter("enum", ROLES),
        "include_deleted": Filter("bool"),
    },
)


def token_json(row: ApiToken) -> dict[str, Any]:
    return TokenOut.model_validate(row, from_attributes=True).model_dump(mode="json")


def user_json(row: User) -> dict[str, Any]:
    data = row.model_dump(
        exclude={"password_hash", "totp_secret", "recovery_codes", "totp_last_counter"}
    )
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
    return paginate(ApiToken, TOKENS, *parse_list_args(TOKENS), token_json)


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
    location="/tokens/{id}",
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
    try:
        expires_at = get_config().web.token_expiry(body.expires_at, utcnow())
    except ValueError as exc:
        raise validation_error({"expires_at": str(exc)}) from exc
    me = current_token()
    row, plaintext = create_token(
        get_store(),
        name=body.name,
        role=body.role,
        scopes=body.scopes,
        expires_at=expires_at,
        created_by=f"token:{me.name}" if me else "api",
        # a token made by a user's token dies with that user too
        creator_user_id=me.creator_user_id if me else None,
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
    row = get_row(get_store(), ApiToken, token_id)
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
    return ok(token_json(revoke_token(get_store(), token_id, utcnow())))


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
    return paginate(User, USERS, *parse_list_args(USERS), user_json)


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
    location="/users/{id}",
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
    try:
        add_user(get_store(), row)
    except NameTaken as exc:
        raise ApiError(
            409,
            "conflict",
            f"user {body.username!r} already exists",
            [{"field": "username", "message": "already exists"}],
        ) from exc
    return ok(user_json(row), 201)


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
    return ok(user_json(get_user(get_store(), user_id)))


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

    def change(row: User) -> None:
        if body.role is not None:
            row.role = body.role
        if body.password is not None:
            row.password_hash = hash_password(body.password)
            row.password_changed_at = now
        row.updated_at = now

    ends = body.password is not None or body.role is not None
    row = change_user(get_store(), user_id, change, now, end_sessions_too=ends)
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

    def delete(row: User) -> None:
        row.deleted_at = now
        row.updated_at = now

    return ok(user_json(change_user(get_store(), user_id, delete, now, end_sessions_too=True)))
