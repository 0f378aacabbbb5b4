"""Pure parsers for the config's durations and sizes (DESIGN §4).

Shared by check options and the config loader so that "5m" or "1MB" mean the same thing
everywhere. Both raise ``ValueError`` with a message that says what was expected.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator

_DURATION_UNITS: dict[str, float] = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}

_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}

_NUM_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)

DURATION_HELP = 'a duration like "30s", "5m", "1h", "2d" or a number of seconds'
SIZE_HELP = 'a size like 1048576, "500KB", "1MB", "2GB" (powers of 1000) or "1MiB" (1024)'


def parse_duration(value: object) -> float:
    """Seconds in ``value``: a number of seconds, or "30s" "5m" "1h" "2d" (also "1h30m")."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HELP}, got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError(f"expected {DURATION_HELP}, got an empty string")
        try:
            seconds = float(text)
        except ValueError:
            seconds = _parse_duration_text(text, value)
    else:
        raise ValueError(f"expected {DURATION_HELP}, got {type(value).__name__}")
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise ValueError(f"expected {DURATION_HELP}, got {value!r} (must be finite and >= 0)")
    return seconds


def _parse_duration_text(text: str, original: str) -> float:
    pos = 0
    total = 0.0
    compact = text.replace(" ", "")
    for match in _DURATION_PART.finditer(compact):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
        pos = match.end()
    if pos != len(compact) or pos == 0:
        raise ValueError(f"expected {DURATION_HELP}, got {original!r}")
    return total


def parse_size(value: object) -> int:
    """Bytes in ``value``: an integer, or "500KB" "1MB" "2GB" (1000) / "1KiB" "1MiB" (1024)."""
    if isinstance(value, bool):
        raise ValueError(f"expected {SIZE_HELP}, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected {SIZE_HELP}, got {value} (must be >= 0)")
        return value
    if isinstance(value, float):
        if not value.is_integer() or value < 0:
            raise ValueError(f"expected {SIZE_HELP}, got {value!r} (whole bytes, >= 0)")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f"expected {SIZE_HELP}, got {type(value).__name__}")
    match = _NUM_UNIT.match(value)
    if not match:
        raise ValueError(f"expected {SIZE_HELP}, got {value!r}")
    number, unit = match.group(1), match.group(2).lower()
    if unit not in _SIZE_UNITS:
        raise ValueError(f"unknown size unit {match.group(2)!r} in {value!r}; expected {SIZE_HELP}")
    result = float(number) * _SIZE_UNITS[unit]
    if not result.is_integer() and unit in ("", "b"):
        raise ValueError(f"expected whole bytes, got {value!r}")
    return round(result)


# pydantic field types for options: config values go through the parsers above.
Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
