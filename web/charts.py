"""Server-side inline SVG charts (pure): status timelines, latency sparklines, uptime.

No JavaScript and no inline ``style``: colours come from CSS classes in ``app.css``
(``tl-pass`` …), so the strict CSP holds. Every chart has ``role="img"``, an
``aria-label`` summary and a ``<title>`` per bar for a tooltip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from html import escape

STATUSES = ("pass", "warn", "fail", "error")
#: a bucket shows its worst status
SEVERITY_ORDER = {"fail": 4, "error": 3, "warn": 2, "pass": 1}
_WORST_FIRST = tuple(sorted(SEVERITY_ORDER, key=SEVERITY_ORDER.__getitem__, reverse=True))


def _zero_counts() -> dict[str, int]:
    return {"pass": 0, "warn": 0, "fail": 0, "error": 0}


@dataclass(slots=True)
class Bucket:
    start: datetime
    end: datetime
    counts: dict[str, int] = field(default_factory=_zero_counts)
    duration_sum: float = 0.0
    duration_max: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def worst(self) -> str:
        # SEVERITY_ORDER, highest first, spelled out: a page asks this of ~400 buckets
        counts = self.counts
        for status in _WORST_FIRST:
            if counts.get(status):
                return status
        return "none"

    @property
    def mean_ms(self) -> float | None:
        measured = self.total - self.counts.get("error", 0)
        return self.duration_sum / measured if measured else None


def empty_buckets(start: datetime, end: datetime, n: int) -> list[Bucket]:
    if n <= 0 or end <= start:
        raise ValueError("need n > 0 and end > start")
    step = (end - start) / n
    return [Bucket(start + step * i, start + step * (i + 1)) for i in range(n)]


def _index(buckets: Sequence[Bucket], at: datetime) -> int | None:
    start, end = buckets[0].start, buckets[-1].end
    if at < start or at >= end:
        return None
    step = (end - start) / len(buckets)
    i = int((at - start) / step)
    return min(i, len(buckets) - 1)


def add_run(buckets: Sequence[Bucket], at: datetime, status: str, duration_ms: float) -> None:
    """Count one raw run into its bucket (ignored outside the window or unknown status)."""
    i = _index(buckets, at)
    if i is None or status not in STATUSES:
        return
    b = buckets[i]
    b.counts[status] += 1
    if status != "error":
        b.duration_sum += duration_ms
        b.duration_max = max(b.duration_max, duration_ms)


def add_rollup(
    buckets: Sequence[Bucket],
    at: datetime,
    counts: Mapping[str, int],
    duration_sum: float,
    duration_max: float,
) -> None:
    """Merge one roll-up row (hour/day aggregate) into the bucket holding its start."""
    i = _index(buckets, at)
    if i is None:
        return
    b = buckets[i]
    for s in STATUSES:
        b.counts[s] += int(counts.get(s, 0) or 0)
    b.duration_sum += duration_sum
    b.duration_max = max(b.duration_max, duration_max)


def uptime(buckets: Iterable[Bucket]) -> float | None:
    """Share of measured runs that passed or warned, in percent; None without data.

    ``error`` runs (could not measure) are left out, like the state machine does.
    """
    good = measured = 0
    for b in buckets:
        good += b.counts["pass"] + b.counts["warn"]
        measured += b.counts["pass"] + b.counts["warn"] + b.counts["fail"]
    return 100.0 * good / measured if measured else None


def _fmt_time(at: datetime, span: timedelta) -> str:
    return at.strftime("%d %b %H:%M" if span <= timedelta(days=8) else "%d %b")


@lru_cache(maxsize=2048)
def _tip_head(start: datetime, end: datetime, span: timedelta) -> str:
    """A bar's escaped tooltip up to its counts; the same for every check of a page (the
    buckets share their bounds), so each is formatted once rather than once per check."""
    return escape(f"{_fmt_time(start, span)} – {_fmt_time(end, span)} UTC: ")


@lru_cache(maxsize=1024)
def _bar_geometry(n: int, width: int, height: int) -> tuple[str, ...]:
    """Per bar: the ``<rect>`` attributes after its class, up to its ``<title>``."""
    bar_w = width / n
    gap = 1 if bar_w >= 4 else 0
    return tuple(
        f'" x="{i * bar_w:.2f}" y="0" width="{max(bar_w - gap, 0.5):.2f}" '
        f'height="{height}" rx="1"><title>'
        for i in range(n)
    )


def _detail(counts: dict[str, int]) -> str:
    """``"3 pass, 1 fail"``: digits and status names only, nothing to escape."""
    return ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) or "no runs"


def status_timeline(
    buckets: Sequence[Bucket], *, label: str, width: int = 600, height: int = 22
) -> str:
    """One bar per bucket, coloured by its worst status; grey where nothing ran."""
    n = len(buckets)
    if n == 0:
        return ""
    geometry = _bar_geometry(n, width, height)
    parts = []
    span = buckets[-1].end - buckets[0].start
    counts = dict.fromkeys(STATUSES, 0)
    for i, b in enumerate(buckets):
        c = b.counts
        for s in STATUSES:
            counts[s] += c[s]
        parts.append(
            f'<rect class="tl-{b.worst}{geometry[i]}{_tip_head(b.start, b.end, span)}'
            f"{_detail(c)}</title></rect>"
        )
    summary = _detail(counts)
    aria = f"{label}: {summary}"
    return (
        f'<svg class="timeline" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(aria)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(aria)}</title>{''.join(parts)}</svg>"
    )


def sparkline(
    values: Sequence[float | None],
    *,
    label: str,
    width: int = 200,
    height: int = 36,
    unit: str = "ms",
    break_gaps: bool = False,
) -> str:
    """A latency line drawn across empty buckets (None); ``break_gaps`` breaks it there.

    Scaled from 0 to the largest value; a flat series (every value equal, zeros included)
    runs at mid-height. A single measurement is no line: it is drawn as a dashed level line
    across the chart at its value with a marker where it was taken, so a check with one
    bucket of history still shows a readable chart rather than a speck. Empty string
    without any value.
    """
    points = [v for v in values if v is not None]
    if not points:
        return ""
    pad = 2.0
    lo, hi = 0.0, max(points)
    flat = min(points) == hi
    n = len(values)
    step = width / max(n - 1, 1)

    def y_of(v: float) -> float:
        if flat or hi <= lo:
            return height / 2
        return pad + (height - 2 * pad) * (1 - (v - lo) / (hi - lo))

    segments: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if break_gaps and segments[-1]:
                segments.append([])
            continue
        segments[-1].append((i * step if n > 1 else width / 2, y_of(v)))
    lines = []
    if len(points) == 1:
        ((x, y),) = [pt for seg in segments for pt in seg]
        lines.append(
            f'<line class="spark spark-level" x1="0" y1="{y:.1f}" x2="{width}" y2="{y:.1f}"/>'
        )
        x = min(max(x, 3.5), width - 3.5)  # the whole marker inside the chart
        lines.append(f'<circle class="spark-dot" cx="{x:.1f}" cy="{y:.1f}" r="3.5"/>')
    else:
        for seg in segments:
            if len(seg) == 1:
                ((x, y),) = seg
                lines.append(f'<circle class="spark-dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>')
            elif seg:
                coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
                lines.append(f'<polyline class="spark" points="{coords}"/>')
    if len(points) == 1:
        aria = f"{label}: one measurement, {points[0]:.0f} {unit}"
    else:
        aria = (
            f"{label}: min {min(points):.0f} {unit}, max {max(points):.0f} {unit}, "
            f"latest {points[-1]:.0f} {unit}"
        )
    return (
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(aria)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(aria)}</title>{''.join(lines)}</svg>"
    )


def gauge_days(days_left: float | None, *, warn: float = 21, fail: float = 7) -> str:
    """CSS class for a countdown: ``tl-pass`` / ``tl-warn`` / ``tl-fail`` / ``tl-none``."""
    if days_left is None:
        return "tl-none"
    if days_left <= fail:
        return "tl-fail"
    if days_left <= warn:
        return "tl-warn"
    return "tl-pass"
