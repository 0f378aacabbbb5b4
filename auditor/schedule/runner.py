"""Run one check: total deadline, timing, and every exception turned into an ``error`` result.

This is blackbox_exporter's handler role: checks only collect and evaluate; what every
check shares lives here, and nothing a check does can crash the daemon.
"""

from __future__ import annotations

import asyncio
import math
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from auditor.probe.http import HttpProber
from auditor.probe.outcome import RunResult, plain_ssl_text
from auditor.store import secret_fields as fields
from checks.base import (
    Check,
    EmptyHistory,
    Finding,
    History,
    Options,
    ProbeContext,
    ProbeError,
    RunStatus,
    Target,
)

log = structlog.get_logger("auditor.runner")

#: slack on top of the check's timeout before the runner cancels it outright
DEADLINE_SLACK_S = 0.25


def utcnow() -> datetime:
    return datetime.now(UTC)


async def run_check(
    check: Check,  # type: ignore[type-arg]
    target: Target,
    options: Options,
    *,
    prober: HttpProber,
    timeout: float,
    history: History | None = None,
    now: Callable[[], datetime] = utcnow,
    environ: Mapping[str, str] | None = None,
) -> RunResult:
    """Collect and evaluate within ``timeout`` seconds of wall-clock time; never raises.

    The result never carries the check's secrets: URL userinfo and secret query values are
    redacted and every literal secret it ran with (a header an endpoint echoed back) masked.
    """
    result = await _run(check, target, options, prober, timeout, history, now, environ)
    secrets = fields.secret_values(dict(options), target.url)
    result.summary = fields.scrub(result.summary, secrets)
    result.findings = [
        Finding(f.code, f.severity, fields.scrub(f.message, secrets)) for f in result.findings
    ]
    result.facts = fields.scrub_json(result.facts, secrets)
    if result.error is not None:
        result.error = fields.scrub(result.error, secrets)
    return result


async def _run(
    check: Check,  # type: ignore[type-arg]
    target: Target,
    options: Options,
    prober: HttpProber,
    timeout: float,
    history: History | None,
    now: Callable[[], datetime],
    environ: Mapping[str, str] | None,
) -> RunResult:
    started_at = now()
    t0 = time.monotonic()
    ctx = ProbeContext(
        http=prober,
        timeout=timeout,
        deadline=t0 + timeout,
        now=now,
        history=history or EmptyHistory(),
        environ=environ if environ is not None else {},
    )
    facts: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout + DEADLINE_SLACK_S):
            facts = await check.collect(target, options, ctx)
        outcome = check.evaluate(facts, options)
        merged = {**facts, **outcome.facts}
        return RunResult(
            target=target,
            status=outcome.status,
            summary=plain_ssl_text(clean_text(outcome.summary)),
            findings=[_clean_finding(f) for f in outcome.findings],
            facts=_jsonable(merged),
            started_at=started_at,
            duration_ms=(time.monotonic() - t0) * 1000.0,
        )
    except TimeoutError:
        err = ProbeError(
            "timeout", f"{target.check} did not finish within its {timeout:g}s timeout"
        )
    except ProbeError as exc:
        err = exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug in a check must not crash the daemon
        log.error(
            "check_crashed",
            service=target.service,
            check=target.check,
            kind=target.kind,
            error=repr(exc),
            traceback=traceback.format_exc(limit=8),
        )
        err = ProbeError(
            "internal", f"the {target.kind} check crashed: {type(exc).__name__}: {exc}"
        )
    finding = check.error_finding(err)
    return RunResult(
        target=target,
        status=err.status,
        summary=plain_ssl_text(clean_text(err.message)),
        findings=[_clean_finding(finding)],
        facts=_jsonable(facts),
        started_at=started_at,
        duration_ms=(time.monotonic() - t0) * 1000.0,
        error=plain_ssl_text(clean_text(err.message)) if err.status is RunStatus.ERROR else None,
        error_kind=err.error_kind,
    )


def clean_text(text: str) -> str:
    """Text every database accepts: no NUL bytes (PostgreSQL), no lone surrogates (UTF-8)."""
    if text.isascii():  # the common case, without an encode round trip
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def _jsonable(value: Any) -> Any:
    """Facts must be strict JSON any store accepts: coerce datetimes, bytes, tuples, sets;
    non-finite floats become null and text is cleaned (a hostile body must not poison a write).

    Exact built-in types are dispatched first (a tls result holds a few thousand values);
    subclasses take the general path below.
    """
    kind = type(value)
    if kind is str:
        return clean_text(value)
    if kind is dict:
        return {
            clean_text(k) if type(k) is str else clean_text(str(k)): _jsonable(v)
            for k, v in value.items()
        }
    if kind is list:  # lists of text (SANs, header values) skip one call per item
        return [clean_text(v) if type(v) is str else _jsonable(v) for v in value]
    if kind is int or kind is bool or value is None:
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {clean_text(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return clean_text(value.decode("utf-8", errors="replace"))
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float | bool) or value is None:
        return value
    return clean_text(str(value))


def _clean_finding(finding: Finding) -> Finding:
    return Finding(
        clean_text(finding.code),
        clean_text(finding.severity),
        plain_ssl_text(clean_text(finding.message)),
    )
