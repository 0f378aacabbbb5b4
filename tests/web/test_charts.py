"""Pure SVG chart helpers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from web import charts

T0 = datetime(2026, 11, 27, tzinfo=UTC)


def test_buckets_count_runs_and_show_the_worst_status() -> None:
    bs = charts.empty_buckets(T0, T0 + timedelta(hours=4), 4)
    charts.add_run(bs, T0 + timedelta(minutes=10), "pass", 10)
    charts.add_run(bs, T0 + timedelta(minutes=20), "fail", 30)
    charts.add_run(bs, T0 + timedelta(hours=1, minutes=5), "warn", 5)
    charts.add_run(bs, T0 + timedelta(hours=9), "fail", 5)  # outside: ignored
    charts.add_run(bs, T0 + timedelta(hours=2), "bogus", 5)  # unknown status: ignored
    assert [b.worst for b in bs] == ["fail", "warn", "none", "none"]
    assert bs[0].mean_ms == 20
    assert bs[2].mean_ms is None


def test_errors_are_left_out_of_latency_and_uptime() -> None:
    bs = charts.empty_buckets(T0, T0 + timedelta(hours=1), 1)
    charts.add_run(bs, T0, "error", 10_000)
    assert bs[0].mean_ms is None
    assert charts.uptime(bs) is None
    charts.add_run(bs, T0, "pass", 10)
    charts.add_run(bs, T0, "fail", 10)
    charts.add_run(bs, T0, "warn", 10)
    assert charts.uptime(bs) == pytest.approx(200 / 3)


def test_rollups_merge_into_their_bucket() -> None:
    bs = charts.empty_buckets(T0, T0 + timedelta(days=2), 2)
    charts.add_rollup(bs, T0 + timedelta(hours=3), {"pass": 10, "fail": 2}, 120.0, 30.0)
    charts.add_rollup(bs, T0 + timedelta(days=1), {"pass": 5}, 50.0, 12.0)
    assert bs[0].counts == {"pass": 10, "warn": 0, "fail": 2, "error": 0}
    assert bs[0].mean_ms == 10.0
    assert bs[1].worst == "pass"
    assert charts.uptime(bs) == pytest.approx(15 / 17 * 100)


def test_timeline_is_accessible_svg_without_inline_style() -> None:
    bs = charts.empty_buckets(T0, T0 + timedelta(hours=2), 2)
    charts.add_run(bs, T0, "fail", 1)
    svg = charts.status_timeline(bs, label='<api> "status"')
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert "style=" not in svg
    assert 'class="tl-fail"' in svg and 'class="tl-none"' in svg
    assert "&lt;api&gt; &quot;status&quot;: 1 fail" in svg  # escaped label
    assert svg.count("<rect") == 2
    assert charts.status_timeline([], label="x") == ""


def test_sparkline_breaks_on_gaps_and_handles_flat_or_empty_series() -> None:
    assert charts.sparkline([None, None], label="x") == ""
    svg = charts.sparkline([10, 20, None, 30, 40], label="lat", break_gaps=True)
    assert svg.count("<polyline") == 2
    joined = charts.sparkline([10, 20, None, 30, 40], label="lat")
    assert (
        joined.count("<polyline") == 1
        and 'points="0.0,26.0 50.0,18.0 150.0,10.0 200.0,2.0"' in joined
    )
    assert "min 10 ms, max 40 ms, latest 40 ms" in svg
    single = charts.sparkline([None, 5.0, None], label="lat", break_gaps=True)
    assert "<circle" in single
    flat = charts.sparkline([7, 7, 7], label="lat")
    assert "<polyline" in flat and "nan" not in flat


def test_countdown_classes() -> None:
    assert charts.gauge_days(None) == "tl-none"
    assert charts.gauge_days(3) == "tl-fail"
    assert charts.gauge_days(10) == "tl-warn"
    assert charts.gauge_days(90) == "tl-pass"


def test_empty_buckets_needs_a_window() -> None:
    with pytest.raises(ValueError):
        charts.empty_buckets(T0, T0, 3)


def test_one_measurement_draws_a_level_line_and_a_visible_marker() -> None:
    """A fresh check has latency in one bucket only: a readable chart, not a 1.8 px speck."""
    svg = charts.sparkline([None] * 47 + [42.0], label="lat")
    line = re.search(
        r'<line class="spark spark-level" x1="0" y1="([\d.]+)" x2="200" y2="\1"/>', svg
    )
    assert line, svg  # spans the whole width at the value's height
    dot = re.search(r'<circle class="spark-dot" cx="196.5" cy="([\d.]+)" r="([\d.]+)"/>', svg)
    assert dot and float(dot.group(2)) >= 3 and dot.group(1) == line.group(1)
    assert "one measurement, 42 ms" in svg
    assert charts.sparkline([5.0], label="lat").count('cx="100.0"') == 1  # one bucket: centred


def test_flat_series_runs_at_mid_height() -> None:
    for values in ([7.0, 7.0, 7.0], [0.0, 0.0]):
        svg = charts.sparkline(values, label="lat")
        ys = {float(y) for y in re.findall(r",([\d.]+)", svg.split('points="')[1].split('"')[0])}
        assert ys == {18.0}, svg
