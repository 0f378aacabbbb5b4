"""The check contract (DESIGN §3): every kind collects facts with I/O, then evaluates them purely.

A check module exposes one class deriving from :class:`Check`. The runner owns deadlines,
body caps, the address policy, timing and error handling; a check only describes what to
fetch (``collect``) and what the facts mean (``evaluate``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.probe.interface import Prober
from auditor.probe.outcome import (
    SEVERITY_RANK,
    STATUS_RANK,
    Finding,
    ProbeError,
    RunStatus,
    Severity,
    Target,
)
from checks.bounds import MAX_ITEMS

__all__ = [
    "GENERIC_ERRORS",
    "STATUS_RANK",
    "Check",
    "EmptyHistory",
    "Finding",
    "History",
    "HttpOptions",
    "Judged",
    "Options",
    "Outcome",
    "ProbeContext",
    "ProbeError",
    "RunStatus",
    "Severity",
    "Target",
    "codes_of",
    "finding_order",
    "judged",
    "more_findings",
    "outcome_from_findings",
    "worst_status",
]


@dataclass(frozen=True)
class Outcome:
    """What ``evaluate`` returns: the raw status, findings and a one-line summary.

    ``facts`` lets evaluation add derived facts (e.g. the Observatory score) that the
    store keeps beside the collected ones.
    """

    status: RunStatus
    summary: str
    findings: tuple[Finding, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)


#: a finding and the status it gives the run: what ``evaluate`` folds into an :class:`Outcome`
Judged = tuple[RunStatus, Finding]

#: error kinds any check can end in, whatever it does: its options no longer validate
#: (``config``), it crashed (``internal``), it overran its deadline (``timeout``)
GENERIC_ERRORS = ("config", "internal", "timeout")


def codes_of(kind: str, *names: str) -> frozenset[str]:
    """``<kind>.<name>`` for each name: a kind's :attr:`Check.codes`."""
    return frozenset(f"{kind}.{name}" for name in names)


def judged(kind: str, status: RunStatus, name: str, severity: str, message: str) -> Judged:
    """The finding ``<kind>.<name>`` and the status it gives the run; each kind binds its
    own name (``partial(judged, "tls")``)."""
    return status, Finding(f"{kind}.{name}", str(severity), message)


def worst_status(statuses: Sequence[RunStatus]) -> RunStatus:
    """The most severe status, ``pass`` for an empty list."""
    return max(statuses, key=lambda s: STATUS_RANK[s], default=RunStatus.PASS)


def finding_order(finding: Finding, status: RunStatus = RunStatus.PASS) -> tuple[int, int, str]:
    """Sort key: most severe first, then the worse status it gives, then the code (never the
    message's alphabet)."""
    return (SEVERITY_RANK.get(str(finding.severity), len(SEVERITY_RANK)), -STATUS_RANK[status],
            finding.code)  # fmt: skip


def more_findings(count: int) -> str:
    """The headline's tail for the findings it does not name: they are findings, not more
    of whatever the headline lists (``SENTRY_DSN (+3 more)`` read as three more variables)."""
    if count <= 0:
        return ""
    return f" (+{count} more finding{'s' if count > 1 else ''})"


def outcome_from_findings(
    findings: Sequence[Judged],
    ok_summary: str,
    facts: Mapping[str, Any] | None = None,
) -> Outcome:
    """Fold ``(status, finding)`` pairs into an Outcome: the worst status wins; findings are
    listed most severe first and the headline (summary) is the most severe one."""
    if not findings:
        return Outcome(RunStatus.PASS, ok_summary, (), facts or {})
    status = worst_status([s for s, _ in findings])
    ordered = sorted(findings, key=lambda p: finding_order(p[1], p[0]))
    summary = ordered[0][1].message + more_findings(len(findings) - 1)
    return Outcome(status, summary, tuple(f for _, f in ordered), facts or {})


class Options(BaseModel):
    """Base of every kind's options: typed, with defaults; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpOptions(Options):
    """Keys every HTTP-based kind takes (DESIGN §4)."""

    path: str = "/"
    ca_file: str | None = None
    verify: bool = True
    headers: dict[str, str] = Field({}, max_length=MAX_ITEMS)
    #: header names the operator marks secret (beyond Authorization, Cookie, X-Api-Key …):
    #: stored encrypted, shown redacted, dropped when the check moves to another host
    secret_headers: list[str] = Field([], max_length=MAX_ITEMS)


class History(ABC):
    """Read-only view of the store that some kinds need (previous facts, heartbeats, attestations)."""

    @abstractmethod
    def previous_facts(self, check_id: str, limit: int = 1) -> list[Mapping[str, Any]]:
        """Facts of the latest completed runs of this check, newest first."""

    @abstractmethod
    def heartbeats(self, check_id: str, limit: int = 50) -> list[Mapping[str, Any]]:
        """Heartbeat pings for this check, newest first: ``{"kind", "exit_code", "at"}``."""

    @abstractmethod
    def attestation(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        """The latest sign-off of a checklist item for a service, or None."""

    def evidence(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        """The latest report pushed for an item: ``{"id", "format", "version", "commit",
        "pushed_by", "pushed_at", "summary", …}``, or None (stores without evidence)."""
        return None

    def deployed_version(self, service_id: str) -> Mapping[str, Any] | None:
        """The latest deploy event pushed for a service (``{"version", "commit", "at"}``)."""
        return None


class EmptyHistory(History):
    """History for one-shot runs outside a store (tests, ``evaluate`` only)."""

    def previous_facts(self, check_id: str, limit: int = 1) -> list[Mapping[str, Any]]:
        return []

    def heartbeats(self, check_id: str, limit: int = 50) -> list[Mapping[str, Any]]:
        return []

    def attestation(self, service_id: str, item: str) -> Mapping[str, Any] | None:
        return None


@dataclass
class ProbeContext:
    """What the runner hands a check: the shared HTTP prober, deadline, clock and history."""

    http: Prober
    timeout: float
    deadline: float
    now: Callable[[], datetime]
    history: History = field(default_factory=EmptyHistory)
    environ: Mapping[str, str] = field(default_factory=dict)

    def remaining(self) -> float:
        """Seconds left before the total deadline (never negative)."""
        import time

        return max(0.0, self.deadline - time.monotonic())


OptionsT = TypeVar("OptionsT", bound=Options)


class Check(ABC, Generic[OptionsT]):
    """One check kind. Subclasses set ``kind``, ``Options`` and implement two methods."""

    kind: ClassVar[str]
    Options: ClassVar[type[Options]]
    #: error_kind -> finding code suffix, for errors the kind names specifically
    error_codes: ClassVar[dict[str, str]] = {}
    #: every finding code the kind can emit besides the generic ones (:meth:`all_codes`): the
    #: README's "Check kinds" table lists them, ``tests/test_finding_codes.py`` holds both to
    #: the source; empty means "not declared" (the test then reads the source alone)
    codes: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def all_codes(cls) -> frozenset[str]:
        """:attr:`codes` and the codes of :data:`GENERIC_ERRORS` as this kind maps them."""
        return cls.codes | {f"{cls.kind}.{cls.error_codes.get(e, e)}" for e in GENERIC_ERRORS}

    @abstractmethod
    async def collect(self, target: Target, options: OptionsT, ctx: ProbeContext) -> dict[str, Any]:
        """All network/disk I/O; returns JSON-serialisable facts. May raise."""

    @abstractmethod
    def evaluate(self, facts: Mapping[str, Any], options: OptionsT) -> Outcome:
        """Pure: facts -> status, findings, summary. No I/O, no clock except via facts."""

    def preflight(self, options: OptionsT, environ: Mapping[str, str]) -> list[tuple[str, str]]:
        """``(option, problem)`` for what would fail every run on this host whatever the
        target does (a database driver that is not installed); ``auditor config check``
        refuses them. Config-file checks only: it may look at the environment."""
        return []

    def error_finding(self, err: ProbeError) -> Finding:
        """The finding an error becomes; kinds map error kinds to their own codes."""
        suffix = self.error_codes.get(err.error_kind, err.error_kind)
        return Finding(f"{self.kind}.{suffix}", Severity.HIGH, err.message)
