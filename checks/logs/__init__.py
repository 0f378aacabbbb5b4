"""The ``logging`` kind: the log store received recent, structured lines from the service.

(The package is ``checks.logs`` so it never shadows the standard library's ``logging``.)
``collect`` asks Loki (``query`` + ``query_range``) or Elasticsearch/OpenSearch (``_count``
+ ``_search``) through the prober, then reduces the newest lines to counts — how many were
JSON, carried level, timestamp, message and a request id, and held a stack trace at
``info``; no line is kept. ``evaluate`` is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from checks.base import Check, Outcome, ProbeContext, Target, codes_of
from checks.logs import backends
from checks.logs.evaluate import evaluate
from checks.logs.options import LoggingOptions
from checks.remote import REMOTE_ERROR_CODES, credentials

__all__ = ["LoggingCheck", "LoggingOptions"]


class LoggingCheck(Check[LoggingOptions]):
    """Recent, structured log lines, asked of the operator's own log store."""

    kind: ClassVar[str] = "logging"
    Options = LoggingOptions
    codes = codes_of(
        "logging", "no_logs", "unstructured", "missing_fields", "stack_trace_at_info",
        "unreachable", "unauthorized", "invalid_response", "query_failed", "blocked_by_policy",
    )  # fmt: skip
    error_codes: ClassVar[dict[str, str]] = REMOTE_ERROR_CODES

    async def collect(
        self, target: Target, options: LoggingOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        creds = credentials(options, ctx)
        ask = backends.loki if options.backend == "loki" else backends.elasticsearch
        found = await ask(target, options, ctx, creds)
        return {
            "backend": options.backend,
            "url": options.url,
            "window_s": options.window,
            "checked_at": ctx.now().isoformat(),
            **found,
        }

    def evaluate(self, facts: Mapping[str, Any], options: LoggingOptions) -> Outcome:
        return evaluate(facts, options)
