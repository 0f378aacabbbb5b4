"""Turning the bytes of an OpenAPI document into a tree the rules may walk — or a clear refusal.

The document is hostile data: it may not be JSON or YAML, may expand YAML aliases into
billions of nodes, nest deeper than any parser's stack, point ``$ref`` at another host or
a file (which a resolver would fetch: SSRF), or chain ``$ref`` into a loop. Each is a
:class:`~checks.base.ProbeError` with its own kind, so the run is an ``error`` result that
says what is wrong. Pure: bytes in, tree or error out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import yaml

from auditor.probe.outcome import ProbeError
from checks.api.model import resolve_local

#: most nodes the document may have once YAML aliases are expanded
MAX_NODES = 2_000_000
#: deepest nesting accepted (real documents stay far below; parsers' stacks do not)
MAX_DEPTH = 200
#: keys that make a JSON Schema resolver load another document
_REF_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
#: keys whose ``$ref`` members are followed when looking for ``$ref`` loops
_THROUGH = ("allOf", "anyOf", "oneOf", "not")

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(data: bytes, source: str) -> dict[str, Any]:
    """The document as plain JSON-like data; ProbeError ``spec_unparseable`` / ``spec_too_large``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProbeError("spec_unparseable", f"{source} is not UTF-8 text ({exc.reason})") from exc
    raw: Any
    try:
        if text.lstrip()[:1] in ("{", "["):
            raw = json.loads(text)
        else:
            raw = yaml.load(text, Loader=_Loader)
    except (ValueError, yaml.YAMLError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ProbeError(
            "spec_unparseable", f"{source} is neither JSON nor YAML: {detail}"
        ) from exc
    except RecursionError as exc:
        raise ProbeError("spec_unparseable", f"{source} is nested too deeply to parse") from exc
    if not isinstance(raw, dict) or not ("openapi" in raw or "swagger" in raw):
        what = (
            type(raw).__name__ if not isinstance(raw, dict) else "a mapping without openapi/swagger"
        )
        raise ProbeError(
            "spec_unparseable",
            f"{source} is not an OpenAPI document (got {what}; expected a mapping with an "
            "'openapi' or 'swagger' version)",
        )
    budget = [MAX_NODES]
    doc = _plain(raw, budget, 0, source)
    assert isinstance(doc, dict)
    return doc


def _plain(node: Any, budget: list[int], depth: int, source: str) -> Any:
    """A copy with text keys and JSON scalars; counts every node, aliases expanded."""
    budget[0] -= 1
    if budget[0] < 0:
        raise ProbeError(
            "spec_too_large",
            f"{source} expands to more than {MAX_NODES:,} nodes (YAML aliases or sheer size)",
        )
    if depth > MAX_DEPTH:
        raise ProbeError("spec_unparseable", f"{source} nests deeper than {MAX_DEPTH} levels")
    if isinstance(node, dict):
        return {str(k): _plain(v, budget, depth + 1, source) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v, budget, depth + 1, source) for v in node]
    if isinstance(node, datetime | date):
        return node.isoformat()
    if isinstance(node, bytes):
        return node.decode("utf-8", errors="replace")
    if node is None or isinstance(node, str | int | float | bool):
        return node
    return str(node)


def _is_reference(key: str, value: str) -> bool:
    """``$ref``-like keys, and a ``$id`` naming a URI (it moves the base of relative refs)."""
    return key in _REF_KEYS or (key == "$id" and (":" in value or "/" in value))


def _walk_refs(node: Any, where: str, out: list[tuple[str, str, str]]) -> None:
    """(pointer, key, value) of every reference-like key, iteratively."""
    stack: list[tuple[Any, str]] = [(node, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                here = f"{at}/{key.replace('~', '~0').replace('/', '~1')}"
                if isinstance(value, str) and _is_reference(key, value):
                    out.append((here, key, value))
                else:
                    stack.append((value, here))
        elif isinstance(item, list):
            stack.extend((v, f"{at}/{i}") for i, v in enumerate(item))


def check_refs(doc: Mapping[str, Any], source: str) -> int:
    """Refuse every reference that leaves the document and every ``$ref`` loop.

    Returns how many local references there are. ProbeError ``ref_refused`` names the first
    remote or file reference; ``ref_loop`` names a cycle of references that never reaches a
    schema (``A -> B -> A``, or ``A = allOf[A]``). A recursive schema through ``properties``
    or ``items`` (a tree) is legitimate and accepted.
    """
    found: list[tuple[str, str, str]] = []
    _walk_refs(doc, "", found)
    for where, key, value in found:
        if key == "$id" or not value.startswith("#"):
            raise ProbeError(
                "ref_refused",
                f"{source} refers outside itself at {where or '/'} ({key}: {value[:200]!r}); "
                "only local references (#/...) are followed, never another host or a file",
            )
    targets = {value for _, _, value in found}
    for start in sorted(targets):
        loop = _loop_from(doc, start)
        if loop:
            raise ProbeError(
                "ref_loop",
                f"{source} has a $ref loop: {' -> '.join(loop)}; a reference must end at a schema",
            )
    return len(found)


def _direct_refs(node: Any) -> list[str]:
    """References ``node`` stands for at once: its own ``$ref`` and those of its combinators."""
    if not isinstance(node, dict):
        return []
    refs = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
    for key in _THROUGH:
        members = node.get(key)
        for member in members if isinstance(members, list) else [members]:
            if isinstance(member, dict) and isinstance(member.get("$ref"), str):
                refs.append(member["$ref"])
    return refs


def _loop_from(doc: Mapping[str, Any], start: str) -> list[str] | None:
    path = [start]
    seen = {start}

    def visit(ref: str) -> list[str] | None:
        for nxt in _direct_refs(resolve_local(doc, ref)):
            if nxt in path:
                return [*path[path.index(nxt) :], nxt]
            if nxt in seen or len(path) > 64:
                continue
            seen.add(nxt)
            path.append(nxt)
            found = visit(nxt)
            if found:
                return found
            path.pop()
        return None

    return visit(start)
