"""The documented range of every number a check, the daemon or the API accepts (issue #17).

One table, used by the check options, the ``[auditor]`` / ``[alerting]`` tables and, through
them, the REST API and the dashboard: a value out of range is a config error naming the key
path, a 422 naming the field. A range exists so that no value can overflow a date, keep a
probe alive for ever, or make the daemon read or keep unbounded data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from checks.units import parse_duration, parse_size

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

#: how often a check may run: at most once a second, at least once a week
MIN_INTERVAL_S = 1.0
MAX_INTERVAL_S = 7 * DAY
#: the longest age / freshness window an option may name (ten years)
MAX_AGE_S = 3650 * DAY
#: the most bytes of a response body a check may read (after decompression)
MAX_BODY_CAP = 1024 * 1024
#: the largest size a backups check may expect (1 PiB)
MAX_SIZE = 1024**5
#: certificate day counts (warn_days, fail_days, max_validity_days)
MAX_DAYS = 3650
#: headers one check may send, statuses / conditions one health check may list
MAX_ITEMS = 50


def format_duration(seconds: float) -> str:
    """``604800`` → ``"7d"``, ``90`` → ``"1m30s"``, ``0.25`` → ``"250ms"``: how limits are shown."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    out, rest = "", round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out


def _between(low: float, high: float, *, above: bool = False) -> Callable[[float], float]:
    """A check of ``low <= value <= high`` (``low < value`` when ``above``), in duration words."""

    def check(value: float) -> float:
        if above and value <= low:
            raise ValueError(f"must be greater than {format_duration(low) if low else '0s'}")
        if not above and value < low:
            raise ValueError(f"must be at least {format_duration(low)}")
        if value > high:
            raise ValueError(f"must be at most {format_duration(high)}")
        return value

    return check


def _size_at_most(high: int, *, positive: bool) -> Callable[[int], int]:
    def check(value: int) -> int:
        if positive and value <= 0:
            raise ValueError("must be greater than zero")
        if value > high:
            shown = f"{high // 1024**2}MiB" if high < 1024**4 else f"{high // 1024**5}PiB"
            raise ValueError(f"must be at most {shown} ({high} bytes)")
        return value

    return check


def _duration(low: float, high: float, *, above: bool = False) -> object:
    return AfterValidator(_between(low, high, above=above))


#: a check's ``interval`` (and ``default_interval``): 1s to 7d
Interval = Annotated[
    float, BeforeValidator(parse_duration), _duration(MIN_INTERVAL_S, MAX_INTERVAL_S)
]
#: a check's ``timeout``: more than 0, at most 7d (and never more than its interval)
Timeout = Annotated[
    float, BeforeValidator(parse_duration), _duration(0.0, MAX_INTERVAL_S, above=True)
]
#: a check's ``jitter``: 0 to 7d (and never more than its interval)
Jitter = Annotated[float, BeforeValidator(parse_duration), _duration(0.0, MAX_INTERVAL_S)]
#: ages and freshness windows (``max_age``, ``restore_max_age``): more than 0, at most 10 years
Age = Annotated[float, BeforeValidator(parse_duration), _duration(0.0, MAX_AGE_S, above=True)]
#: grace periods and periods that may be zero (``grace``, ``lock_max_age``): 0 to 10 years
Span = Annotated[float, BeforeValidator(parse_duration), _duration(0.0, MAX_AGE_S)]
#: a response-body cap: 1 byte to 1 MiB
BodyCap = Annotated[
    int, BeforeValidator(parse_size), AfterValidator(_size_at_most(MAX_BODY_CAP, positive=True))
]
#: a size to expect (``min_size``): 0 to 1 PiB
ExpectedSize = Annotated[
    int, BeforeValidator(parse_size), AfterValidator(_size_at_most(MAX_SIZE, positive=False))
]
#: a certificate day count
Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]


def duration_between(low: float, high: float, *, above: bool = False) -> object:
    """The validator of a duration in ``[low, high]`` (``(low, high]`` when ``above``), for
    tables outside this module (``[auditor]`` lease, retention, drain timeout)."""
    return _duration(low, high, above=above)
