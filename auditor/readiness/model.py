"""What readiness is computed from and what it answers: plain frozen dataclasses (no database).

Inputs: :class:`ServiceInput`, one :class:`CheckInput` per enabled check (definition + latest
state + the check's newest waiver + the newest attestation of its item). Outputs:
:class:`CheckReadiness` per check and :class:`ServiceReadiness` per service, each with the
``to_dict`` the API and the dashboard serve.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor.readiness.waivers import MAX_WAIVER_DAYS


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, the form every readiness report uses."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True, slots=True)
class WaiverInput:
    id: str
    reason: str
    created_by: str
    expires_at: datetime
    created_at: datetime

    @property
    def effective_expiry(self) -> datetime:
        """The expiry, capped at :data:`MAX_WAIVER_DAYS` after creation."""
        return min(self.expires_at, self.created_at + timedelta(days=MAX_WAIVER_DAYS))

    def active(self, now: datetime) -> bool:
        return self.created_at <= now < self.effective_expiry

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.effective_expiry),
        }


@dataclass(frozen=True, slots=True)
class AttestationInput:
    id: str
    item: str
    signed_by: str
    signed_at: datetime
    expires_at: datetime | None = None
    evidence_url: str | None = None
    comment: str = ""

    def valid_until(self, max_age_s: float | None) -> datetime | None:
        ends = [self.expires_at] if self.expires_at is not None else []
        if max_age_s is not None:
            ends.append(self.signed_at + timedelta(seconds=max_age_s))
        return min(ends) if ends else None

    def valid(self, now: datetime, max_age_s: float | None = None) -> bool:
        until = self.valid_until(max_age_s)
        return self.signed_at <= now and (until is None or now < until)

    def to_dict(self, max_age_s: float | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "item": self.item,
            "signed_by": self.signed_by,
            "signed_at": iso(self.signed_at),
            "expires_at": iso(self.valid_until(max_age_s)),
            "evidence_url": self.evidence_url,
            "comment": self.comment,
        }


@dataclass(frozen=True, slots=True)
class CheckInput:
    """One enabled check: its definition, latest state and overlays."""

    check_id: str
    name: str
    kind: str
    severity: str = "high"
    level: str = "bronze"
    blocking: bool = False
    interval_s: float = 300.0
    description: str = ""
    # latest state (check_state); ``state`` is the thresholded effective state
    state: str = "unknown"
    raw_status: str | None = None
    since: datetime | None = None
    last_run_at: datetime | None = None
    summary: str = ""
    findings: tuple[Mapping[str, Any], ...] = ()
    consecutive_fail: int = 0
    consecutive_pass: int = 0
    consecutive_error: int = 0
    # overlays
    waiver: WaiverInput | None = None
    attestation_item: str | None = None  # kind == "attestation": options.item
    attestation_max_age_s: float | None = None  # options.max_age
    attestation: AttestationInput | None = None


@dataclass(frozen=True, slots=True)
class ServiceInput:
    id: str
    name: str
    environment: str = "production"
    profile: str | None = None
    owner: str = ""
    tags: tuple[str, ...] = ()


# -- outputs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckReadiness:
    check_id: str | None  # None for a "not configured" checklist kind
    name: str
    kind: str
    state: str  # effective: pass | warn | fail | error | unknown (attested → pass)
    underlying_state: str  # what the runs say (after staleness), before overlays
    overlay: str | None  # "waived" | "attested" | None
    severity: str
    weight: int
    level: str
    blocking: bool
    stale: bool
    not_configured: bool
    findings: tuple[Mapping[str, Any], ...]
    summary: str
    why: str
    last_run_at: datetime | None
    since: datetime | None
    waiver: WaiverInput | None = None
    attestation: AttestationInput | None = None
    attestation_max_age_s: float | None = None

    @property
    def ok_for_level(self) -> bool:
        """Counts as satisfied for a level: pass / warn / waived / attested."""
        return self.overlay == "waived" or self.state in ("pass", "warn")

    @property
    def scored(self) -> bool:
        return self.overlay != "waived" and self.weight > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "underlying_state": self.underlying_state,
            "overlay": self.overlay,
            "severity": self.severity,
            "weight": self.weight,
            "level": self.level,
            "blocking": self.blocking,
            "stale": self.stale,
            "not_configured": self.not_configured,
            "findings": [dict(f) for f in self.findings],
            "summary": self.summary,
            "why": self.why,
            "last_run_at": iso(self.last_run_at),
            "since": iso(self.since),
            "waiver": self.waiver.to_dict() if self.waiver else None,
            "attestation": (
                self.attestation.to_dict(self.attestation_max_age_s) if self.attestation else None
            ),
        }


@dataclass(frozen=True, slots=True)
class ServiceReadiness:
    service_id: str
    service: str
    environment: str
    score: int  # 0–100
    verdict: str  # ready | ready_with_warnings | not_ready | unknown
    level: str | None  # achieved: bronze | silver | gold | None
    required_level: str
    min_score: int
    next_level: str | None
    next_level_blockers: tuple[str, ...]  # check names keeping the service from next_level
    not_configured: tuple[str, ...]  # checklist kinds missing (profile production)
    reasons: tuple[str, ...]  # why the verdict is not "ready" (empty when ready)
    checks: tuple[CheckReadiness, ...]
    evaluated_at: datetime
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.verdict in ("ready", "ready_with_warnings")

    def check(self, name: str) -> CheckReadiness:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "service": self.service,
            "environment": self.environment,
            "score": self.score,
            "verdict": self.verdict,
            "level": self.level,
            "required_level": self.required_level,
            "min_score": self.min_score,
            "next_level": self.next_level,
            "next_level_blockers": list(self.next_level_blockers),
            "not_configured": list(self.not_configured),
            "reasons": list(self.reasons),
            "counts": dict(self.counts),
            "evaluated_at": iso(self.evaluated_at),
            "checks": [c.to_dict() for c in self.checks],
        }
