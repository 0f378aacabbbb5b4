"""A read-only view of an OpenAPI 3.x or Swagger 2.0 document that the lint rules share.

The document is hostile data that already passed the ``$ref`` scan (local refs only, no
alias loops), but it may still be malformed where the validator complained: every
accessor tolerates wrong types and returns something empty rather than raising.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: how deep a schema is followed through $ref / allOf when looking for properties
MAX_SCHEMA_DEPTH = 12


def pointer(*parts: str) -> str:
    """A JSON pointer (RFC 6901) to ``parts``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def resolve_local(doc: Mapping[str, Any], ref: str) -> Any:
    """The node a ``#/...`` reference names, or None."""
    if not ref.startswith("#"):
        return None
    node: Any = doc
    for raw in ref[1:].split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Operation:
    """One method on one path, with what the rules ask of it."""

    method: str  # upper case
    path: str  # the document's path key
    full_path: str  # base path + path key
    node: dict[str, Any]
    params: tuple[dict[str, Any], ...]  # path-level and operation-level, refs resolved

    @property
    def where(self) -> str:
        return pointer("paths", self.path, self.method.lower())

    @property
    def op_id(self) -> str | None:
        value = self.node.get("operationId")
        return value if isinstance(value, str) else None

    def param_names(self, location: str) -> set[str]:
        return {str(p.get("name")) for p in self.params if p.get("in") == location}

    @property
    def has_path_params(self) -> bool:
        return "{" in self.path

    @property
    def is_collection(self) -> bool:
        """The path ends in a literal segment (``/users``), not an id (``/users/{id}``)."""
        last = self.path.rstrip("/").rsplit("/", 1)[-1]
        return bool(last) and not last.startswith("{")


class Spec:
    """The parts of the document the rules read, the same for OAS 2 and 3."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self.swagger = "swagger" in doc and "openapi" not in doc

    @property
    def version(self) -> str:
        return str(self.doc.get("openapi") or self.doc.get("swagger") or "")

    def deref(self, node: Any, depth: int = 0) -> Any:
        """``node`` with ``$ref`` chains followed (bounded; the scan already refused loops)."""
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and depth < 32:
            node = resolve_local(self.doc, node["$ref"])
            depth += 1
        return node

    def base_path(self) -> str:
        """The first server's path (OAS 3) or ``basePath`` (2.0); never its host."""
        if self.swagger:
            base = self.doc.get("basePath")
            return base.rstrip("/") if isinstance(base, str) else ""
        servers = _list(self.doc.get("servers"))
        first = _dict(servers[0]) if servers else {}
        url = first.get("url")
        if not isinstance(url, str):
            return ""
        for name, var in _dict(first.get("variables")).items():  # server variables' defaults
            default = _dict(var).get("default")
            if isinstance(default, str):
                url = url.replace("{" + str(name) + "}", default)
        return urlsplit(url).path.rstrip("/") if "//" in url else url.split("?")[0].rstrip("/")

    def operations(self) -> Iterator[Operation]:
        base = self.base_path()
        for path, item in _dict(self.doc.get("paths")).items():
            item = self.deref(item)
            if not isinstance(path, str) or not isinstance(item, dict):
                continue
            shared = [self.deref(p) for p in _list(item.get("parameters"))]
            for method in METHODS:
                node = item.get(method)
                if not isinstance(node, dict):
                    continue
                own = [self.deref(p) for p in _list(node.get("parameters"))]
                merged: dict[tuple[Any, Any], dict[str, Any]] = {}
                for p in [*shared, *own]:
                    if isinstance(p, dict):
                        merged[(p.get("name"), p.get("in"))] = p
                yield Operation(method.upper(), path, base + path, node, tuple(merged.values()))

    def responses(self, op: Operation) -> dict[str, Any]:
        """status (as text, ``default`` kept) -> response object with refs resolved."""
        out = {}
        for status, resp in _dict(op.node.get("responses")).items():
            resp = self.deref(resp)
            if isinstance(resp, dict):
                out[str(status)] = resp
        return out

    def has_body(self, op: Operation) -> bool:
        if self.swagger:
            return any(p.get("in") in ("body", "formData") for p in op.params)
        return isinstance(self.deref(op.node.get("requestBody")), dict)

    def media_types(self, resp: Mapping[str, Any]) -> list[str]:
        if self.swagger:
            produces = self.doc.get("produces") or ["application/json"]
            return [str(m) for m in _list(produces)] if "schema" in resp else []
        return [str(m) for m in _dict(resp.get("content"))]

    def json_schema(self, resp: Mapping[str, Any]) -> dict[str, Any] | None:
        """The schema of a response's JSON body, or None when it has none."""
        if self.swagger:
            schema = self.deref(resp.get("schema"))
            return schema if isinstance(schema, dict) else None
        for media, body in _dict(resp.get("content")).items():
            if "json" in str(media).lower():
                schema = self.deref(_dict(body).get("schema"))
                return schema if isinstance(schema, dict) else {}
        return None

    def header_names(self, resp: Mapping[str, Any]) -> set[str]:
        return {str(h).lower() for h in _dict(resp.get("headers"))}

    def properties(self, schema: Any, depth: int = 0) -> dict[str, Any]:
        """Property name -> schema, through ``$ref`` and ``allOf`` (``anyOf``/``oneOf``: those
        every branch has)."""
        schema = self.deref(schema)
        if not isinstance(schema, dict) or depth > MAX_SCHEMA_DEPTH:
            return {}
        props = {str(k): v for k, v in _dict(schema.get("properties")).items()}
        for part in _list(schema.get("allOf")):
            props.update(self.properties(part, depth + 1))
        for key in ("anyOf", "oneOf"):
            branches = [self.properties(b, depth + 1) for b in _list(schema.get(key))]
            if branches:
                common = set(branches[0]).intersection(*branches[1:])
                props.update({k: branches[0][k] for k in common})
        return props

    def is_array(self, schema: Any) -> bool:
        schema = self.deref(schema)
        if not isinstance(schema, dict):
            return False
        kind = schema.get("type")
        return kind == "array" or (isinstance(kind, list) and "array" in kind)

    def security_schemes(self) -> dict[str, dict[str, Any]]:
        if self.swagger:
            found = self.doc.get("securityDefinitions")
        else:
            found = _dict(self.doc.get("components")).get("securitySchemes")
        return {str(k): v for k, v in _dict(found).items() if isinstance(self.deref(v), dict)}

    def scheme_kind(self, scheme: Mapping[str, Any]) -> str:
        scheme = self.deref(scheme)
        kind = str(scheme.get("type", ""))
        if kind == "http":
            return f"http:{str(scheme.get('scheme', '')).lower()}"
        if kind == "basic":  # Swagger 2.0
            return "http:basic"
        return kind

    def security_of(self, op: Operation) -> list[Any] | None:
        """The operation's effective security requirements (None: none declared anywhere)."""
        if "security" in op.node:
            own = op.node.get("security")
            return own if isinstance(own, list) else []
        top = self.doc.get("security")
        return top if isinstance(top, list) else None
