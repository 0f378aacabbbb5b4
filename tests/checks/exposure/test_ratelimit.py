"""Which signal shows a rate limit (pure): headers, 429, a shift to 503 — not an outage."""

from __future__ import annotations

from typing import Any

import pytest

from checks.exposure.judge import judge
from checks.exposure.ratelimit import judge_burst

OK: tuple[int, list[str]] = (200, [])


@pytest.mark.parametrize(
    ("answers", "earlier", "signals", "retry_after"),
    [
        ([OK, OK, (503, [])], [], ["status_503"], False),  # nginx limit_req default
        ([(503, []), (503, [])], [404, 400], ["status_503"], False),  # the probes came first
        ([OK, (503, ["retry-after"])], [], ["status_503"], True),
        ([OK, (429, [])], [], ["status_429"], False),
        ([(429, ["retry-after"])], [], ["status_429"], True),  # Cloudflare-style
        ([(200, ["ratelimit", "ratelimit-policy"])], [], ["ratelimit_headers"], False),
        ([(200, ["ratelimit-limit", "ratelimit-remaining"])], [], ["ratelimit_headers"], False),
        ([(200, ["x-ratelimit-limit"])], [], ["x_ratelimit_headers"], False),
        ([OK, OK], [], [], False),
        ([OK, (200, ["retry-after"])], [], [], False),  # Retry-After alone is no limit
        ([(503, []), (503, ["retry-after"])], [503], [], True),  # down (maintenance)
    ],
)
def test_signals(
    answers: list[tuple[int, list[str]]], earlier: list[int], signals: list[str], retry_after: bool
) -> None:
    judged = judge_burst(answers, earlier)
    assert (judged["signals"], judged["retry_after"]) == (signals, retry_after)


def test_all_503_is_inconclusive_not_a_finding() -> None:
    burst = judge_burst([(503, []), (503, [])], [503, 503])
    assert burst["inconclusive"]
    outcome = judge({"rate_limit": {"url": "u", "answered": 2, "statuses": {"503": 2}, **burst}})
    assert [f.code for f in outcome.findings] == []
    assert "rate limit not judged" in outcome.summary


@pytest.mark.parametrize(
    ("burst", "text"),
    [
        ({"signals": ["status_503"], "retry_after": False}, "(a shift to status 503)"),
        ({"signals": ["status_429"], "retry_after": True}, "(status 429 with Retry-After)"),
        ({"signals": ["ratelimit_headers"], "retry_after": False}, "(IETF RateLimit headers)"),
    ],
)
def test_summary_names_the_signal(burst: dict[str, Any], text: str) -> None:
    outcome = judge({"rate_limit": {"url": "u", "answered": 3, **burst}})
    assert outcome.findings == () and text in outcome.summary
