"""A located check's combined state from its locations' states, by quorum (pure).

Each probe location keeps its own debounced state (the usual thresholds, per location).
The check's state is the worst state that at least ``quorum`` locations confirm: sorted
worst first (fail > warn > pass), the ``quorum``-th location's state. So with quorum 2 of
3, one failing location leaves the check ``pass`` (an unconfirmed failure, reported as an
``info`` finding) and two make it ``fail``. Only live, measured locations vote: a location
whose state is ``error`` or stale, or whose workers are all gone, confirms nothing. A
location with no live worker is a finding (``location.no_live_worker``) and lowers a
``pass`` to ``warn``, so a probe location going dark is never a silent gap. When fewer
than ``quorum`` locations can vote, nothing can be confirmed: the state is ``error``, or
``unknown`` while enough live locations simply have no result yet (so the first location
to report after a start does not page about the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_RANK = {"pass": 0, "warn": 1, "fail": 2}
_BY_RANK = {v: k for k, v in _RANK.items()}
NO_WORKER = "location.no_live_worker"
UNCONFIRMED = "location.unconfirmed"
NO_QUORUM = "location.no_quorum"


@dataclass(frozen=True)
class LocationView:
    """One location of a check, as the quorum sees it."""

    location: str
    #: the location's effective state: pass | warn | fail | error | unknown (stale: unknown)
    state: str
    #: some worker of this location beat recently
    live: bool = True
    findings: Sequence[dict[str, Any]] = ()


@dataclass(frozen=True)
class Combined:
    state: str
    summary: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    #: locations whose state is ``fail`` (confirmed or not)
    failing: tuple[str, ...] = ()


def combine(views: Sequence[LocationView], quorum: int) -> Combined:
    """The check's state, summary and findings from its locations' (see the module doc)."""
    views = sorted(views, key=lambda v: v.location)
    quorum = max(1, quorum)
    voters = [v for v in views if v.live and v.state in _RANK]
    dark = [v for v in views if not v.live]
    failing = tuple(v.location for v in views if v.live and v.state == "fail")
    findings: list[dict[str, Any]] = [
        {
            "code": NO_WORKER,
            "severity": "high",
            "message": f"location {v.location} has no live worker: nothing probes from there "
            f"(start `auditor worker --location {v.location}`)",
            "location": v.location,
        }
        for v in dark
    ]
    n = len(views)
    if len(voters) < quorum:
        silent = [v.location for v in views if v not in voters]
        # live locations without a result yet may still make the quorum: no news (unknown);
        # when even they cannot, nothing will be confirmed: error
        hopeful = [v for v in views if v.live and v.state in (*_RANK, "unknown")]
        state = "unknown" if len(hopeful) >= quorum else "error"
        if state == "error":
            findings.append(
                {
                    "code": NO_QUORUM,
                    "severity": "high",
                    "message": f"only {len(voters)} of {n} locations measured (quorum {quorum}); "
                    f"no result from {', '.join(silent)}",
                }
            )
        summary = f"{len(voters)} of {n} locations measured; quorum {quorum} not reached"
        return Combined(state, summary, findings, failing)
    ranks = sorted((_RANK[v.state] for v in voters), reverse=True)
    state = _BY_RANK[ranks[quorum - 1]]
    confirming = [v for v in voters if _RANK[v.state] >= _RANK[state] and state != "pass"]
    for v in confirming:  # the message says where, for lists that show only code and message
        findings.extend(
            {**f, "message": f"from {v.location}: {f.get('message', '')}", "location": v.location}
            for f in v.findings
        )
    for v in voters:
        if v.state == "fail" and state != "fail":
            findings.append(
                {
                    "code": UNCONFIRMED,
                    "severity": "info",
                    "message": f"fails from {v.location} only ({len(failing)} of {n} "
                    f"locations; quorum {quorum}): not confirmed",
                    "location": v.location,
                }
            )
    if state == "pass" and dark:
        state = "warn"
    summary = _summary(state, views, voters, failing, quorum)
    return Combined(state, summary, findings, failing)


def _summary(
    state: str,
    views: Sequence[LocationView],
    voters: Sequence[LocationView],
    failing: Sequence[str],
    quorum: int,
) -> str:
    n = len(views)
    parts = [f"{state} by quorum {quorum} of {n} locations"]
    if failing:
        parts.append(f"failing from {', '.join(failing)}")
    missing = [v.location for v in views if not v.live]
    if missing:
        parts.append(f"no live worker in {', '.join(missing)}")
    unmeasured = [v.location for v in views if v.live and v not in voters]
    if unmeasured:
        parts.append(f"no result yet from {', '.join(unmeasured)}")
    return "; ".join(parts)


def default_quorum(count: int) -> int:
    """A majority of the locations: what ``quorum`` is when a check does not say."""
    return count // 2 + 1
