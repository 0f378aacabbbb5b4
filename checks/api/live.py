"""Live, safe probes of the running service: GET, HEAD and OPTIONS only, through the prober.

An unknown route, a few documented public list endpoints (protected ones too with the
read-only probe token) and ``OPTIONS`` on a few documented paths. Bodies are read here,
judged by pure helpers, and only the verdicts become facts — never a body, which may hold
data or secrets. Every request goes through ``ctx.http`` (address policy, deadline, cap).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from auditor.probe.interface import HttpResult
from auditor.probe.outcome import ProbeError, Target
from checks.api.lint_common import LintContext, is_param, list_operations, segments
from checks.api.model import Operation
from checks.api.source import auth_headers
from checks.base import ProbeContext
from checks.exposure.signatures import scan_body

BODY_CAP = 256_000
#: documented list endpoints / paths probed per run (load on the target stays small)
MAX_LISTS = 3
MAX_OPTIONS = 3
SAFE = ("GET", "HEAD", "OPTIONS")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _names(obj: Any) -> set[str]:
    return set(obj) if isinstance(obj, dict) else set()


def body_facts(res: HttpResult, conv: Any, *, error: bool) -> dict[str, Any]:
    """What a body shows, without the body: JSON or not, envelope gaps, pagination gaps, leaks."""
    text = res.text()
    out: dict[str, Any] = {
        "status": res.status,
        "content_type": res.content_type,
        "signatures": [s["name"] for s in scan_body(text)],
    }
    data = _json(res.body)
    out["json"] = isinstance(data, dict)
    if not isinstance(data, dict):
        return out
    if error:
        missing = [f for f in conv.error_fields if f not in data]
        missing += [
            f"error.{f}" for f in conv.error_object_fields[:2] if f not in _names(data.get("error"))
        ]
        out["envelope_missing"] = missing
    else:
        out["envelope_missing"] = [f for f in conv.success_fields if f not in data]
        meta = _names(data.get("meta")) | _names(data.get("pagination"))
        for holder in (data.get("meta"), data.get("pagination")):
            if isinstance(holder, dict):
                meta |= _names(holder.get("pagination"))
        out["meta_missing"] = [g[0] for g in conv.meta_fields if not meta & set(g)]
    return out


def _query(op: Operation, conv: Any) -> str:
    """The smallest page: ``?page=1&limit=1`` with the parameter names the operation takes."""
    names = op.param_names("query")
    pairs = [(n, "1") for n in conv.page_params if n in names][:1]
    pairs += [(n, "1") for n in conv.size_params if n in names][:1]
    return ("?" + "&".join(f"{k}={v}" for k, v in pairs)) if pairs else ""


async def probe_live(
    target: Target,
    lctx: LintContext,
    ctx: ProbeContext,
    *,
    token: str | None,
    verify: bool,
    ca_file: str | None,
) -> dict[str, Any]:
    """The live facts: ``not_found``, ``lists``, ``options`` (each probe or its error)."""
    spec, conv = lctx.spec, lctx.conv

    async def get(url: str, method: str = "GET") -> HttpResult:
        assert method in SAFE
        return await ctx.http.fetch(
            url,
            method=method,
            headers={"Accept": "application/json", **auth_headers(target, url, token)},
            timeout=max(0.1, ctx.remaining()),
            verify=verify,
            ca_file=ca_file,
            max_redirects=3,
            body_cap=BODY_CAP,
            truncate=True,
        )

    base = spec.base_path()
    missing_path = f"{base}/auditor-{secrets.token_hex(5)}-no-such-route"
    lists = [
        op
        for op in list_operations(lctx)
        if not op.has_path_params and (token or lctx.is_public(op))
    ][:MAX_LISTS]
    by_path: dict[str, set[str]] = {}
    for op in spec.operations():
        if not any(is_param(s) for s in segments(op.path)):
            by_path.setdefault(op.full_path, set()).add(op.method)
    option_paths = sorted(by_path)[:MAX_OPTIONS]

    plan: list[tuple[str, str, str, Any]] = [("not_found", "GET", missing_path, None)]
    plan += [("list", "GET", op.full_path + _query(op, conv), op) for op in lists]
    plan += [("options", "OPTIONS", path, path) for path in option_paths]
    results = await asyncio.gather(
        *(get(target.url_for(path), method) for _, method, path, _ in plan),
        return_exceptions=True,
    )
    facts: dict[str, Any] = {"not_found": None, "lists": [], "options": []}
    for (name, method, path, extra), res in zip(plan, results, strict=True):
        entry: dict[str, Any] = {"method": method, "path": path}
        if isinstance(res, BaseException):
            if not isinstance(res, Exception):
                raise res
            if isinstance(res, ProbeError) and res.error_kind == "blocked_by_policy":
                raise res
            entry["error"] = res.message if isinstance(res, ProbeError) else str(res)
        elif name == "options":
            allow = res.header("allow") or ""
            entry["status"] = res.status
            entry["allow"] = sorted({m.strip().upper() for m in allow.split(",") if m.strip()})
            entry["documented"] = sorted(by_path[extra])
        else:
            entry.update(await asyncio.to_thread(body_facts, res, conv, error=name == "not_found"))
            if name == "list":
                responses = spec.responses(extra)
                doc = responses.get(str(res.status)) or {}
                entry["documented_types"] = spec.media_types(doc)
                entry["status_documented"] = str(res.status) in responses
        if name == "not_found":
            facts["not_found"] = entry
        else:
            facts[f"{name}s" if name == "list" else name].append(entry)
    return facts
