"""Reading a JSON request body within bounds: media type, size, nesting depth, no NaN.

Every API operation that takes a body reads it here, once, before any parser sees it, so a
hostile body is a 4xx in the envelope — never a 500: a non-JSON ``Content-Type`` is 415
(``text/plain`` bodies are not parsed as JSON), more than ``MAX_BODY_BYTES`` is 413, more
than ``MAX_DEPTH`` levels of ``[``/``{`` is 400 (a deep body used to end in a
``RecursionError``), and ``NaN``/``Infinity`` (not JSON) are 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request

from web.api.envelope import ApiError

#: the largest JSON body an API operation reads (the app's ``MAX_CONTENT_LENGTH`` is the same)
MAX_BODY_BYTES = 1_000_000
#: the deepest nesting of arrays and objects a body may have
MAX_DEPTH = 32

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def _is_json_media_type(value: str) -> bool:
    media, _, params = value.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not re.fullmatch(r"application/[a-z0-9.+-]+\+json", media):
        return False
    charset = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_-]+)", params)
    return charset is None or charset.group(1).lower() in ("utf-8", "utf8")


def nesting_depth(raw: bytes, limit: int) -> int:
    """The deepest ``[``/``{`` nesting of ``raw`` outside strings, counting stops past ``limit``
    (linear, no recursion: the parsers recurse, this must not)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        else:
            depth -= 1
    return deepest


def _not_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def bounded_body() -> bytes:
    """The raw body of a JSON operation, after the media-type, size and depth checks."""
    content_type = request.headers.get("Content-Type", "")
    if not _is_json_media_type(content_type):
        shown = content_type.split(";")[0].strip() or "none"
        raise ApiError(
            415,
            "unsupported_media_type",
            "the request body must be JSON (Content-Type: application/json)",
            [{"field": "Content-Type", "message": f"must be application/json, not {shown}"}],
        )
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise _too_large()
    raw = request.get_data(cache=True)
    # a chunked body (no Content-Length) is cut at the app's limit rather than refused:
    # one that reaches the limit is taken as larger, never parsed as truncated JSON
    if len(raw) > MAX_BODY_BYTES or (request.content_length is None and len(raw) >= MAX_BODY_BYTES):
        raise _too_large()
    if nesting_depth(raw, MAX_DEPTH) > MAX_DEPTH:
        raise ApiError(
            400,
            "invalid_json",
            f"the request body is nested too deeply (more than {MAX_DEPTH} levels)",
            [{"field": "body", "message": f"at most {MAX_DEPTH} levels of arrays and objects"}],
        )
    return raw


def parse_json(raw: bytes) -> Any:
    """``raw`` as JSON; ``NaN``, ``Infinity`` and ``-Infinity`` are refused (not JSON)."""
    return json.loads(raw, parse_constant=_not_json_constant)


def _too_large() -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"request body too large (at most {MAX_BODY_BYTES} bytes)",
        [{"field": "body", "message": f"at most {MAX_BODY_BYTES} bytes"}],
    )
