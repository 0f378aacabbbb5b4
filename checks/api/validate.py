"""Validating the document with ``openapi-spec-validator``, which must never fetch anything.

The validator resolves references through ``jsonschema-path``, whose default retriever
opens any URL it meets (``requests.get``/``urlopen``): an SSRF from a hostile document.
:func:`check_refs` already refused non-local references; as a second wall every scheme
is handled here by a function that refuses, so a reference the scan missed fails closed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: validation messages kept in facts
MAX_ERRORS = 20
MAX_MESSAGE = 300
#: documents whose verdict is remembered (by content hash): validation costs ~5 ms of CPU
#: per operation, and a service's document rarely changes between runs
CACHE_SIZE = 64


class _RefuseEveryScheme(Mapping[str, Any]):
    """A handler table that claims every URI scheme and refuses to load any of them."""

    def __getitem__(self, scheme: str) -> Any:
        def refuse(uri: str) -> Any:
            raise LookupError(f"refused to load {uri!r}: only local references are followed")

        return refuse

    def __contains__(self, scheme: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass
class Validation:
    """What the validator said: the version it detected and its complaints."""

    version: str = ""
    errors: list[str] = field(default_factory=list)
    #: (operationId, where) of duplicates; reported by the ``operations.unique-ids`` rule
    duplicate_ids: list[str] = field(default_factory=list)


_cache: OrderedDict[str, Validation] = OrderedDict()
_lock = threading.Lock()


def validate_cached(digest: str, doc: dict[str, Any]) -> Validation:
    """:func:`validate`, remembered for the last documents seen (``digest``: their SHA-256)."""
    with _lock:
        hit = _cache.get(digest)
        if hit is not None:
            _cache.move_to_end(digest)
            return hit
    found = validate(doc)
    with _lock:
        _cache[digest] = found
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return found


def validate(doc: dict[str, Any]) -> Validation:
    """Validate against the OpenAPI 2.0 / 3.0 / 3.1 / 3.2 schemas (CPU work: call in a thread)."""
    from jsonschema_path import SchemaPath
    from openapi_spec_validator.settings import OpenAPISpecValidatorSettings
    from openapi_spec_validator.shortcuts import get_validator_cls
    from openapi_spec_validator.validation.exceptions import (
        DuplicateOperationIDError,
        ValidatorDetectError,
    )

    out = Validation(version=str(doc.get("openapi") or doc.get("swagger") or ""))
    try:
        cls = get_validator_cls(doc)
    except (ValidatorDetectError, KeyError, TypeError, ValueError):
        out.errors.append(
            f"unsupported version {out.version!r}: expected openapi 3.0/3.1/3.2 or swagger 2.0"
        )
        return out
    path = SchemaPath.from_dict(
        doc,
        handlers=_RefuseEveryScheme(),  # type: ignore[arg-type]
        resolved_cache_maxsize=OpenAPISpecValidatorSettings().resolved_cache_maxsize,
    )
    try:
        for err in cls(path).iter_errors():
            if isinstance(err, DuplicateOperationIDError):
                out.duplicate_ids.append(str(err))
                continue
            if len(out.errors) < MAX_ERRORS:
                out.errors.append(_message(err))
    except RecursionError:
        out.errors.append("the validator could not finish: references recurse too deeply")
    except Exception as exc:  # a validator bug on hostile input is a finding, not a crash
        out.errors.append(f"the validator stopped: {type(exc).__name__}: {str(exc)[:200]}")
    return out


def _message(err: Any) -> str:
    text = str(getattr(err, "message", "") or err).splitlines()[0]
    where = "/".join(str(p) for p in getattr(err, "absolute_path", []) or [])
    schema = getattr(err, "schema", None)
    title = schema.get("title") if isinstance(schema, dict) else None
    if where:
        text = f"at /{where}: {text}"
    elif isinstance(title, str) and title:
        text = f"in schema {title[:80]!r}: {text}"
    return text[:MAX_MESSAGE]
