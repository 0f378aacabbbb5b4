"""Fixture services for the ``api`` kind: a Flask app that follows the house conventions and
serves its OpenAPI 3.1 document, one that breaks the live conventions, and a document server
for hand-made (broken, hostile) documents."""

from __future__ import annotations

import copy
import json
import traceback
from typing import Any

from flask import Flask, Response, jsonify, request

TOKEN = "read-only-probe-token"

_ERR = {"$ref": "#/components/schemas/ErrorEnvelope"}


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERR}}, **extra}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _errors(*codes: str) -> dict[str, Any]:
    names = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "403": "Forbidden",
        "404": "NotFound",
        "409": "Conflict",
        "422": "Unprocessable",
        "429": "TooManyRequests",
        "500": "ServerError",
    }
    return {code: _ref(names[code]) for code in codes}


def _ok(data: dict[str, Any], meta: str = "Meta") -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["success", "data", "meta"],
        "properties": {
            "success": {"type": "boolean"},
            "data": data,
            "meta": {"$ref": f"#/components/schemas/{meta}"},
        },
    }


def _json(schema: dict[str, Any], description: str = "OK", **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


_PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
]
_USER = {"$ref": "#/components/schemas/User"}
_LOCATION = {"Location": {"description": "the new resource", "schema": {"type": "string"}}}


def good_spec() -> dict[str, Any]:
    """An OpenAPI 3.1 document that follows every rule of the shipped rule set."""
    list_users = _json(_ok({"type": "array", "items": _USER}, "ListMeta"))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Accounts", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/users": {
                "get": {
                    "operationId": "listUsers",
                    "parameters": _PAGING,
                    "responses": {
                        "200": list_users,
                        **_errors("400", "401", "403", "429", "500"),
                    },
                },
                "post": {
                    "operationId": "createUser",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _USER}},
                    },
                    "responses": {
                        "201": _json(_ok(_USER), "Created", headers=_LOCATION),
                        **_errors("400", "401", "403", "409", "422", "429", "500"),
                    },
                },
            },
            "/users/{user_id}": {
                "parameters": [
                    {
                        "name": "user_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                "get": {
                    "operationId": "getUser",
                    "responses": {
                        "200": _json(_ok(_USER)),
                        **_errors("400", "401", "403", "404", "429", "500"),
                    },
                },
                "delete": {
                    "operationId": "deleteUser",
                    "responses": {
                        "204": {"description": "Deleted"},
                        **_errors("400", "401", "403", "404", "429", "500"),
                    },
                },
            },
            "/payments": {
                "post": {
                    "operationId": "createPayment",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {
                        "201": _json(_ok({"type": "object"}), "Created", headers=_LOCATION),
                        **_errors("400", "401", "403", "409", "422", "429", "500"),
                    },
                }
            },
            "/countries": {
                "get": {
                    "operationId": "listCountries",
                    "security": [],
                    "parameters": _PAGING,
                    "responses": {
                        "200": _json(
                            _ok({"type": "array", "items": {"type": "string"}}, "ListMeta")
                        ),
                        **_errors("400", "429", "500"),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {
                "User": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
                },
                "Meta": {
                    "type": "object",
                    "properties": {
                        "request_id": {"type": "string"},
                        "timestamp": {"type": "string"},
                    },
                },
                "ListMeta": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Meta"},
                        {
                            "type": "object",
                            "properties": {
                                "page": {"type": "integer"},
                                "limit": {"type": "integer"},
                                "total_items": {"type": "integer"},
                                "total_pages": {"type": "integer"},
                            },
                        },
                    ]
                },
                "ErrorEnvelope": {
                    "type": "object",
                    "required": ["success", "error"],
                    "properties": {
                        "success": {"type": "boolean", "const": False},
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                        "meta": {"$ref": "#/components/schemas/Meta"},
                    },
                },
            },
            "responses": {
                "BadRequest": _error("Bad request"),
                "Unauthorized": _error("Unauthorized"),
                "Forbidden": _error("Forbidden"),
                "NotFound": _error("Not found"),
                "Conflict": _error("Conflict"),
                "Unprocessable": _error("Unprocessable"),
                "TooManyRequests": _error(
                    "Too many requests",
                    headers={
                        "Retry-After": {"description": "seconds", "schema": {"type": "integer"}}
                    },
                ),
                "ServerError": _error("Server error"),
            },
        },
    }


def _envelope_error(code: str, message: str, status: int) -> Response:
    body = {
        "success": False,
        "error": {"code": code, "message": message, "details": []},
        "meta": {},
    }
    return Response(json.dumps(body), status, mimetype="application/json")


def _page(items: list[Any]) -> dict[str, Any]:
    page = int(request.args.get("page", "1"))
    limit = int(request.args.get("limit", "20"))
    chunk = items[(page - 1) * limit : page * limit]
    pages = max(1, -(-len(items) // limit))
    meta = {
        "request_id": "r",
        "page": page,
        "limit": limit,
        "total_items": len(items),
        "total_pages": pages,
    }
    return {"success": True, "data": chunk, "meta": meta}


def good_app(spec: dict[str, Any] | None = None) -> Flask:
    """A service that follows the conventions, serving ``spec`` (default: :func:`good_spec`)."""
    app = Flask("good_api")
    doc = spec or good_spec()
    users = [{"id": "7f1c1a5e-0000-4000-8000-000000000001", "email": "a@example.com"}]

    def authorised() -> bool:
        return request.headers.get("Authorization") == f"Bearer {TOKEN}"

    @app.get("/openapi.json")
    def openapi() -> Any:
        return jsonify(doc)

    @app.route("/api/v1/users", methods=["GET", "POST"])
    def users_list() -> Any:
        if not authorised():
            return _envelope_error("unauthorized", "a bearer token is required", 401)
        return jsonify(_page(users))

    @app.route("/api/v1/users/<user_id>", methods=["GET", "DELETE"])
    def user(user_id: str) -> Any:
        return _envelope_error("not_found", "no such user", 404)

    @app.post("/api/v1/payments")
    def payments() -> Any:
        return _envelope_error("unauthorized", "a bearer token is required", 401)

    @app.get("/api/v1/countries")
    def countries() -> Any:
        return jsonify(_page(["AT", "DE", "FR"]))

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Any:
        return _envelope_error("not_found", "no such route", 404)

    @app.errorhandler(405)
    def not_allowed(_exc: Exception) -> Any:
        return _envelope_error("method_not_allowed", "method not allowed", 405)

    return app


def broken_live_app() -> Flask:
    """Documents the good contract but does not keep it: an HTML 404 page with a stack trace,
    a bare-array list served as text/html, an undocumented PUT on /users."""
    app = Flask("broken_api")

    @app.get("/openapi.json")
    def openapi() -> Any:
        return jsonify(good_spec())

    @app.route("/api/v1/users", methods=["GET", "POST", "PUT"])
    def users_list() -> Any:
        return jsonify({"success": True, "data": [], "meta": {}})

    @app.get("/api/v1/countries")
    def countries() -> Any:
        return Response(json.dumps(["AT", "DE"]), 200, mimetype="text/html")

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Any:
        trace = "".join(traceback.format_stack(limit=4))
        page = f"<html><body><h1>Not Found</h1><pre>Traceback (most recent call last):\n{trace}</pre></body></html>"
        return Response(page, 404, mimetype="text/html")

    return app


def document_app(documents: dict[str, bytes | Any]) -> Flask:
    """Serves each document at ``/docs/<name>``: bytes as they are, anything else as JSON;
    a callable is a streaming body (the 50 MB document). Counts every request."""
    app = Flask("documents")
    app.config["hits"] = []

    @app.get("/docs/<name>")
    def doc(name: str) -> Any:
        app.config["hits"].append(name)
        if name not in documents:
            return Response("missing", 404)
        value = documents[name]
        if callable(value):
            return Response(value(), 200, mimetype="application/json")
        if isinstance(value, bytes):
            return Response(value, 200, mimetype="application/octet-stream")
        return Response(json.dumps(value), 200, mimetype="application/json")

    @app.get("/evil.json")
    def evil() -> Any:
        app.config["hits"].append("evil")
        return jsonify({"type": "object"})

    return app


def mutated(change: Any) -> dict[str, Any]:
    """The good document with ``change(doc)`` applied to a deep copy."""
    doc = copy.deepcopy(good_spec())
    change(doc)
    return doc
