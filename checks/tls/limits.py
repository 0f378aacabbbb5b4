"""CA/Browser Forum maximum certificate lifetimes (BR v2.2.6 §6.3.2, ballot SC-081), as data.

The limit depends on the certificate's *issue date* (notBefore), not on today's date, so a
certificate issued under an older rule stays compliant until it expires.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: (issued before this instant, maximum validity in days); the last row has no end.
CABF_MAX_VALIDITY: tuple[tuple[datetime | None, int], ...] = (
    (datetime(2026, 3, 15, tzinfo=UTC), 398),
    (datetime(2027, 3, 15, tzinfo=UTC), 200),
    (datetime(2029, 3, 15, tzinfo=UTC), 100),
    (None, 47),
)

SECONDS_PER_DAY = 86_400


def max_validity_days(issued: datetime) -> int:
    """The CA/B maximum lifetime, in days, for a certificate issued at ``issued``."""
    if issued.tzinfo is None:
        issued = issued.replace(tzinfo=UTC)
    for before, days in CABF_MAX_VALIDITY:
        if before is None or issued < before:
            return days
    raise AssertionError("unreachable: the table ends with an open row")


def lifetime_days(not_before_ts: float, not_after_ts: float) -> int:
    """Validity period in days as the BRs count it: notAfter is inclusive (+1 s), and any
    fraction of a day counts as a whole day."""
    seconds = not_after_ts - not_before_ts + 1
    days, rest = divmod(seconds, SECONDS_PER_DAY)
    return int(days) + (1 if rest > 0 else 0)
