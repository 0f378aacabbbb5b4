from __future__ import annotations

import pytest

from checks.units import parse_duration, parse_size


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (30, 30.0),
        (1.5, 1.5),
        ("45", 45.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("2d", 172800.0),
        ("1h30m", 5400.0),
        (" 2D ", 172800.0),
        ("500ms", 0.5),
    ],
)
def test_parse_duration(value: object, expected: float) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["", "abc", "5x", "-5", -1, "5m3", True, None, [], "m5"])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1024, 1024),
        ("1024", 1024),
        ("500KB", 500_000),
        ("1MB", 1_000_000),
        ("2GB", 2_000_000_000),
        ("1.5MB", 1_500_000),
        ("1KiB", 1024),
        ("1MiB", 1_048_576),
        ("1GiB", 1_073_741_824),
        ("10 mb", 10_000_000),
        ("7B", 7),
    ],
)
def test_parse_size(value: object, expected: int) -> None:
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "MB", "1XB", "-1", -1, 1.5, True, None, "1.5"])
def test_parse_size_rejects(value: object) -> None:
    with pytest.raises(ValueError, match=r"size|bytes"):
        parse_size(value)
