"""Load-test reports → one summary shape: requests, error rate, latency percentiles, rps.

Pure parsers of what the tools write: k6 ``--summary-export`` and ``handleSummary`` JSON,
Locust ``--csv`` (``*_stats.csv``) and ``--json``, JMeter JTL (CSV), ``wrk`` text and ``oha``
JSON. Every latency is in milliseconds, ``error_rate`` is a fraction (0.001 = 0.1 %),
``duration_s`` the test's length where the report tells it. A report that does not hold what
its format promises raises :class:`ReportError` naming what is missing.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from typing import Any

from checks.evidence.errors import ReportError


def _num(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReportError("malformed", f"{what} is not a number")
    return float(value)


def _percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile (what JMeter's aggregate report shows)."""
    if not sorted_ms:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


def summary(
    *,
    requests: float,
    failures: float,
    duration_s: float | None,
    rps: float | None = None,
    percentiles: Mapping[str, float] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The common load summary every parser returns."""
    if rps is None and duration_s:
        rps = requests / duration_s
    out: dict[str, Any] = {
        "family": "load",
        "requests": int(requests),
        "failures": int(failures),
        "error_rate": (failures / requests) if requests else 0.0,
        "rps": round(rps, 3) if rps is not None else None,
        "duration_s": round(duration_s, 3) if duration_s is not None else None,
    }
    for key, value in (percentiles or {}).items():
        out[key] = round(value, 3)
    out.update(extra or {})
    return out


# -- k6 ------------------------------------------------------------------------------------


def _k6_values(metric: Mapping[str, Any]) -> Mapping[str, Any]:
    """``handleSummary`` nests values under ``values``; ``--summary-export`` does not."""
    values = metric.get("values")
    return values if isinstance(values, Mapping) else metric


def _k6_failed_thresholds(metrics: Mapping[str, Any]) -> list[str]:
    failed = []
    for name, metric in metrics.items():
        thresholds = metric.get("thresholds") if isinstance(metric, Mapping) else None
        if not isinstance(thresholds, Mapping):
            continue
        for expr, result in thresholds.items():
            # --summary-export: true = crossed; handleSummary: {"ok": false} = crossed
            crossed = (not result.get("ok", True)) if isinstance(result, Mapping) else bool(result)
            if crossed:
                failed.append(f"{name}: {expr}")
    return failed


def parse_k6(doc: Mapping[str, Any]) -> dict[str, Any]:
    metrics = doc.get("metrics")
    if not isinstance(metrics, Mapping):
        raise ReportError("malformed", "k6 summary has no 'metrics' object")
    reqs = metrics.get("http_reqs")
    duration = metrics.get("http_req_duration")
    if not isinstance(reqs, Mapping) or not isinstance(duration, Mapping):
        raise ReportError(
            "malformed", "k6 summary lacks http_reqs or http_req_duration (not an HTTP test?)"
        )
    reqs_v, dur_v = _k6_values(reqs), _k6_values(duration)
    count = _num(reqs_v.get("count"), "metrics.http_reqs.count")
    rate = _num(reqs_v.get("rate"), "metrics.http_reqs.rate")
    failed = metrics.get("http_req_failed")
    error_rate = 0.0
    if isinstance(failed, Mapping):
        error_rate = _num(_k6_values(failed).get("value", _k6_values(failed).get("rate", 0)),
                          "metrics.http_req_failed.value")  # fmt: skip
    percentiles = {}
    for key, name in (("p(50)", "p50_ms"), ("med", "p50_ms"), ("p(90)", "p90_ms"),
                      ("p(95)", "p95_ms"), ("p(99)", "p99_ms"), ("avg", "avg_ms")):  # fmt: skip
        if key in dur_v:
            percentiles[name] = _num(dur_v[key], f"metrics.http_req_duration.{key}")
    state = doc.get("state")
    duration_s = None
    if isinstance(state, Mapping) and isinstance(state.get("testRunDurationMs"), int | float):
        duration_s = float(state["testRunDurationMs"]) / 1000
    elif rate > 0:
        duration_s = count / rate
    iterations = metrics.get("iterations")
    iter_rate = _k6_values(iterations).get("rate") if isinstance(iterations, Mapping) else None
    out = summary(
        requests=count,
        failures=round(count * error_rate),
        duration_s=duration_s,
        rps=rate,
        percentiles=percentiles,
        extra={
            "iterations_per_s": iter_rate,
            "thresholds_failed": _k6_failed_thresholds(metrics),
        },
    )
    out["error_rate"] = error_rate
    return out


# -- Locust --------------------------------------------------------------------------------

_LOCUST_PCTS = {"50%": "p50_ms", "90%": "p90_ms", "95%": "p95_ms", "99%": "p99_ms"}


def parse_locust_csv(text: str) -> dict[str, Any]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "Request Count" not in rows[0]:
        raise ReportError("malformed", "Locust stats CSV has no 'Request Count' column")
    total = next((r for r in rows if (r.get("Name") or "") == "Aggregated"), None)
    if total is None:
        raise ReportError("truncated", "Locust stats CSV has no 'Aggregated' row (cut short?)")
    try:
        requests = float(total["Request Count"])
        failures = float(total["Failure Count"])
        rps = float(total["Requests/s"])
        pcts = {name: float(total[col]) for col, name in _LOCUST_PCTS.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError("malformed", f"Locust 'Aggregated' row is unreadable: {exc}") from exc
    duration = requests / rps if rps else None
    return summary(requests=requests, failures=failures, duration_s=duration, rps=rps,
                   percentiles=pcts)  # fmt: skip


def _hist_percentile(hist: Mapping[float, float], q: float) -> float:
    total = sum(hist.values())
    needed, seen = q / 100 * total, 0.0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= needed:
            return value
    return max(hist) if hist else 0.0


def parse_locust_json(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, list) or not all(isinstance(e, Mapping) for e in doc):
        raise ReportError("malformed", "Locust --json output must be a list of stats entries")
    requests = failures = 0.0
    hist: dict[float, float] = {}
    start, end = math.inf, -math.inf
    for i, entry in enumerate(doc):
        requests += _num(entry.get("num_requests"), f"[{i}].num_requests")
        failures += _num(entry.get("num_failures"), f"[{i}].num_failures")
        start = min(start, _num(entry.get("start_time"), f"[{i}].start_time"))
        end = max(end, _num(entry.get("last_request_timestamp"), f"[{i}].last_request_timestamp"))
        times = entry.get("response_times")
        if not isinstance(times, Mapping):
            raise ReportError("malformed", f"[{i}].response_times is not an object")
        for ms, n in times.items():
            try:
                hist[float(ms)] = hist.get(float(ms), 0.0) + _num(n, f"[{i}].response_times")
            except ValueError as exc:
                raise ReportError("malformed", f"[{i}].response_times key {ms!r}") from exc
    duration = (end - start) if requests and end > start else None
    pcts = {name: _hist_percentile(hist, float(col[:-1])) for col, name in _LOCUST_PCTS.items()}
    return summary(requests=requests, failures=failures, duration_s=duration, percentiles=pcts)


# -- JMeter JTL ----------------------------------------------------------------------------


def parse_jmeter(text: str) -> dict[str, Any]:
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or ())
    if not {"timeStamp", "elapsed", "success"} <= fields:
        raise ReportError("malformed", "JTL CSV needs the timeStamp, elapsed and success columns")
    elapsed: list[float] = []
    failures, start, end = 0, math.inf, -math.inf
    for line, row in enumerate(reader, start=2):
        try:
            stamp, took = float(row["timeStamp"]), float(row["elapsed"])
        except (TypeError, ValueError) as exc:
            raise ReportError("truncated", f"JTL line {line} is incomplete or unreadable") from exc
        ok = (row.get("success") or "").strip().lower()
        if ok not in ("true", "false"):
            raise ReportError("truncated", f"JTL line {line}: success is {ok!r}, not true/false")
        failures += ok == "false"
        elapsed.append(took)
        start, end = min(start, stamp), max(end, stamp + took)
    if not elapsed:
        raise ReportError("malformed", "JTL CSV holds no samples")
    elapsed.sort()
    pcts = {name: _percentile(elapsed, float(col[:-1])) for col, name in _LOCUST_PCTS.items()}
    return summary(requests=len(elapsed), failures=failures, duration_s=(end - start) / 1000,
                   percentiles=pcts)  # fmt: skip


# -- wrk / oha -----------------------------------------------------------------------------

_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
_WRK_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ", re.M)
_WRK_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_WRK_PCT = re.compile(r"^\s+(50|75|90|99)(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_WRK_NON2XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)", re.M)
_WRK_SOCKET = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M
)


def parse_wrk(text: str) -> dict[str, Any]:
    total = _WRK_TOTAL.search(text)
    rps = _WRK_RPS.search(text)
    if total is None:
        raise ReportError("malformed", "wrk output has no 'N requests in T' line")
    if rps is None:
        raise ReportError("truncated", "wrk output has no 'Requests/sec:' line (cut short?)")
    requests = float(total.group(1))
    duration = float(total.group(2)) * _WRK_UNITS.get(total.group(3), 3_600_000.0) / 1000
    failures = sum(int(m.group(1)) for m in _WRK_NON2XX.finditer(text))
    socket = _WRK_SOCKET.search(text)
    if socket:
        failures += sum(int(g) for g in socket.groups()[1:])  # connect errors are not requests
    pcts = {f"p{m.group(1)}_ms": float(m.group(2)) * _WRK_UNITS[m.group(3)]
            for m in _WRK_PCT.finditer(text)}  # fmt: skip
    pcts.pop("p75_ms", None)
    return summary(requests=requests, failures=min(failures, requests), duration_s=duration,
                   rps=float(rps.group(1)), percentiles=pcts)  # fmt: skip


def parse_oha(doc: Mapping[str, Any]) -> dict[str, Any]:
    s = doc.get("summary")
    pcts = doc.get("latencyPercentiles")
    if not isinstance(s, Mapping) or not isinstance(pcts, Mapping):
        raise ReportError("malformed", "oha JSON needs 'summary' and 'latencyPercentiles'")
    codes = doc.get("statusCodeDistribution") or {}
    errors = doc.get("errorDistribution") or {}
    if not isinstance(codes, Mapping) or not isinstance(errors, Mapping):
        raise ReportError("malformed", "oha statusCodeDistribution/errorDistribution malformed")
    ok = sum(_num(n, "statusCodeDistribution") for c, n in codes.items() if str(c)[:1] in "23")
    bad = sum(_num(n, "statusCodeDistribution") for c, n in codes.items() if str(c)[:1] not in "23")
    bad += sum(_num(n, "errorDistribution") for n in errors.values())
    out = {}
    for key, name in (("p50", "p50_ms"), ("p90", "p90_ms"), ("p95", "p95_ms"), ("p99", "p99_ms")):
        if pcts.get(key) is not None:
            out[name] = _num(pcts[key], f"latencyPercentiles.{key}") * 1000
    return summary(requests=ok + bad, failures=bad, duration_s=_num(s.get("total"), "summary.total"),
                   rps=_num(s.get("requestsPerSec"), "summary.requestsPerSec"), percentiles=out)  # fmt: skip
