"""Asking the log store: Loki's HTTP API and the Elasticsearch/OpenSearch search API (I/O).

Loki: ``/loki/api/v1/query`` with ``sum(count_over_time(<selector> [window]))`` for the
count, ``/loki/api/v1/query_range`` (``direction=backward``) for the newest lines.
Elasticsearch/OpenSearch: ``GET /<index>/_count`` and ``GET /<index>/_search`` with a
``q=`` Lucene query (the service's query AND the time range) — GET only, no request body,
so nothing but reads is ever sent. Each answer's lines are analysed here and dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from checks.base import ProbeContext, ProbeError, Target
from checks.logs.lines import analyse
from checks.logs.options import LoggingOptions
from checks.remote import Answer, Credentials, get_json, remote_text


def default_query(options: LoggingOptions, target: Target) -> str:
    if options.query:
        return options.query
    name = target.service.replace("\\", "\\\\").replace('"', '\\"')
    if options.backend == "loki":
        return f'{{service_name="{name}"}}'
    return f'service.name:"{name}"'


def _failed(answer: Answer, store: str, what: str) -> ProbeError:
    if 400 <= answer.status < 500:
        return ProbeError("query_failed", f"{store} refused {what}: {remote_text(answer)}")
    return ProbeError(
        "invalid_response",
        f"{store} answered {what} with HTTP {answer.status} ({remote_text(answer)[:120]}); "
        "is url the store's base URL?",
    )


def _loki_data(answer: Answer, what: str, kind: str) -> Any:
    body = answer.data
    if answer.status != 200 or not isinstance(body, dict) or body.get("status") != "success":
        raise _failed(answer, "Loki", what)
    data = body.get("data")
    if not isinstance(data, dict) or data.get("resultType") != kind:
        raise ProbeError("invalid_response", f"Loki answered {what} without {kind} data")
    return data.get("result") or []


def _lines(streams: Any) -> Iterator[str]:
    for stream in streams if isinstance(streams, list) else []:
        for value in stream.get("values") or [] if isinstance(stream, Mapping) else []:
            if isinstance(value, list) and len(value) >= 2 and isinstance(value[1], str):
                yield value[1]


async def loki(
    target: Target, options: LoggingOptions, ctx: ProbeContext, creds: Credentials
) -> dict[str, Any]:
    query = default_query(options, target)
    window = f"{max(1, round(options.window))}s"
    headers = {"X-Scope-OrgID": options.tenant} if options.tenant else None

    async def ask(path: str, params: dict[str, str], what: str) -> Answer:
        return await get_json(
            ctx, options.url, path, params, what=what, creds=creds, options=options,
            extra_headers=headers,
        )  # fmt: skip

    counted = await ask(
        "/loki/api/v1/query",
        {"query": f"sum(count_over_time({query} [{window}]))"},
        "the count query",
    )
    vector = _loki_data(counted, "the count query", "vector")
    count = int(float(vector[0]["value"][1])) if vector else 0
    end_ns = int(ctx.now().timestamp() * 1e9)
    start_ns = end_ns - int(options.window * 1e9)
    ranged = await ask(
        "/loki/api/v1/query_range",
        {"query": query, "start": str(start_ns), "end": str(end_ns),
         "limit": str(options.sample), "direction": "backward"},
        "the query_range",
    )  # fmt: skip
    streams = _loki_data(ranged, "the query_range", "streams")
    sample = analyse(list(_lines(streams))[: options.sample], options.aliases())
    return {"query": query, "count": count, "sample": sample}


def _source(hit: Any) -> Mapping[str, Any] | str:
    """A hit's document; a JSON line shipped undecoded in ``message`` is decoded into it."""
    source = hit.get("_source") if isinstance(hit, Mapping) else None
    if not isinstance(source, Mapping):
        return ""
    message = source.get("message")
    if isinstance(message, str) and message.lstrip().startswith("{"):
        try:
            inner = json.loads(message)
        except (ValueError, RecursionError):
            return source
        if isinstance(inner, dict):
            return {**source, **inner}
    return source


async def elasticsearch(
    target: Target, options: LoggingOptions, ctx: ProbeContext, creds: Credentials
) -> dict[str, Any]:
    query = default_query(options, target)
    window = f"{max(1, round(options.window))}s"
    q = f"({query}) AND {options.timestamp_field}:[now-{window} TO now]"
    store = "OpenSearch" if options.backend == "opensearch" else "Elasticsearch"
    base = f"/{options.index}"
    counted = await get_json(
        ctx, options.url, f"{base}/_count", {"q": q}, what=store, creds=creds, options=options
    )
    if counted.status != 200 or not isinstance(counted.data, dict) or "count" not in counted.data:
        raise _failed(counted, store, "the _count query")
    found = await get_json(
        ctx, options.url, f"{base}/_search",
        {"q": q, "size": str(options.sample), "sort": f"{options.timestamp_field}:desc"},
        what=store, creds=creds, options=options,
    )  # fmt: skip
    hits = found.data.get("hits") if isinstance(found.data, dict) else None
    if found.status != 200 or not isinstance(hits, dict):
        raise _failed(found, store, "the _search query")
    docs = [_source(h) for h in (hits.get("hits") or [])[: options.sample]]
    sample = analyse(docs, options.aliases())
    return {"query": q, "count": int(counted.data["count"]), "sample": sample}
