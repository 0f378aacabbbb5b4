"""Does the service's own ``/metrics`` expose request rate, errors and duration (RED)? Pure.

The body is first held to the exposition format (:func:`checks.exposure.exposition.
check_exposition`, shared with the ``exposure`` kind); then metric names and label names
are read from the samples. What counts, by the conventions of the common client libraries
(prometheus_client, Micrometer, OpenTelemetry, prom-client, the Go client):

- *rate*: a request counter — ``*_requests_total``, ``*_request_count``, ``*_requests``
  counters, or the ``_count`` of a request-duration histogram/summary;
- *errors*: a status/code/outcome label on a request series, or an ``*_errors_total`` /
  ``*_failures_total`` / ``*_exceptions_total`` counter;
- *duration*: a histogram or summary whose name says duration, latency or seconds.

Only metric names leave this module (never label values, which can hold paths or ids).
"""

from __future__ import annotations

import re

from checks.exposure.exposition import check_exposition

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{.*\})?\s")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"')
_REQUEST = re.compile(r"(?:^|_)requests?(?:_|$)|(?:^|_)(?:http|grpc|rpc)_server(?:_|$)", re.I)
_RATE_SUFFIX = re.compile(r"(?:_total|_count|_requests)$")
_ERRORS = re.compile(r"(?:errors?|failures?|failed|exceptions?)(?:_total)?$", re.I)
_DURATION = re.compile(r"(?:duration|latency|seconds|_time|_ms)", re.I)
_HISTO = re.compile(r"_(?:bucket|sum|count)$")
STATUS_LABELS = frozenset(
    {"status", "code", "status_code", "http_status", "http_status_code", "response_code",
     "http_response_status_code", "grpc_code", "rpc_grpc_status_code", "outcome", "result"}
)  # fmt: skip
MAX_NAMES = 10


def series(text: str) -> dict[str, set[str]]:
    """metric name -> label names seen on its samples."""
    out: dict[str, set[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = out.setdefault(m.group(1), set())
        if m.group(2):
            labels.update(_LABEL.findall(m.group(2)))
    return out


def red_signals(text: str) -> dict[str, object]:
    """``{"valid", "reason", "rate": [...], "errors": [...], "duration": [...]}``."""
    valid, _, reason = check_exposition(text)
    if not valid:
        return {"valid": False, "reason": reason, "rate": [], "errors": [], "duration": []}
    found = series(text)
    rate, errors, duration = set(), set(), set()
    for name, labels in found.items():
        base = _HISTO.sub("", name)
        is_request = bool(_REQUEST.search(base))
        if is_request and _RATE_SUFFIX.search(name):
            rate.add(name)
            if labels & STATUS_LABELS:
                errors.add(name)
        if name.endswith("_total") and _ERRORS.search(name.removesuffix("_total")):
            errors.add(name)
        if name.endswith("_sum") and _DURATION.search(base) and (base + "_count") in found:
            duration.add(base)
    return {
        "valid": True,
        "reason": "ok",
        "rate": sorted(rate)[:MAX_NAMES],
        "errors": sorted(errors)[:MAX_NAMES],
        "duration": sorted(duration)[:MAX_NAMES],
    }
