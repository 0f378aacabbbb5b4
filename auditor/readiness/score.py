"""Service readiness (pure): score, verdict, level and a per-check explanation (DESIGN §6).

Inputs are plain frozen dataclasses (no database, no clock): :class:`ServiceInput`, one
:class:`CheckInput` per enabled check (definition + latest state + the check's newest waiver
+ the newest attestation of its item) and ``now``. :func:`evaluate_service` returns a frozen
:class:`ServiceReadiness`. Loading the inputs from the store is ``auditor.readiness.queries``.

Semantics
- **Per-check state**: the stored effective state (thresholds already applied by
  ``auditor.schedule.state``), ``unknown`` when stale (no run within 3 intervals, or older than the
  caller's ``max_age_s``) or never run. A valid attestation (not expired, within the check's
  ``max_age``) makes an ``attestation`` check ``pass`` (overlay ``attested``).
- **Waivers** (overlay ``waived``): need a reason and an expiry, at most
  :data:`MAX_WAIVER_DAYS` after creation (longer ones are capped). The waived check keeps
  running and keeps its real state; it leaves the score denominator and never blocks a level
  or the verdict. ``why`` says "waived — currently failing" or "waived — passing now, remove
  the waiver?".
- **Score** 0–100: Σ weight × credit / Σ weight, credit pass 1, warn 0.5, else 0; weights by
  severity (:data:`SEVERITY_WEIGHT`, ``info`` = 0 is recorded but not scored); waived checks
  are excluded.
- **Level**: the highest of bronze < silver < gold such that every check at that level and
  below is pass / warn / waived / attested; ``None`` when not even bronze.
- **Verdict**: ``not_ready`` when a blocking check fails, a check at or below the required
  level (default bronze) fails, a checklist kind is not configured (profile ``production``:
  env / migrations / backups), or the score is below ``min_score``; otherwise ``unknown``
  when a check at or below the required level (or any blocking check) is unknown / error /
  stale; otherwise ``ready_with_warnings`` when anything is less than a clean pass (a warn,
  a failing check above the required level, a waiver covering a non-passing check);
  otherwise ``ready``. A service with no checks is ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from auditor.schedule.state import STALE_INTERVALS

LEVELS: tuple[str, ...] = ("bronze", "silver", "gold")
SEVERITY_WEIGHT: Mapping[str, int] = {"critical": 8, "high": 4, "medium": 2, "low": 1, "info": 0}
CREDIT: Mapping[str, float] = {"pass": 1.0, "warn": 0.5}
MAX_WAIVER_DAYS = 90
VERDICTS = ("ready", "ready_with_warnings", "not_ready", "unknown")
#: kinds the production checklist needs and the profile cannot configure (DESIGN §4)
PROFILE_NEEDS_CONFIG: tuple[str, ...] = ("env", "migrations", "backups")


# -- inputs -------------------------------------------------------------------------------


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
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.effective_expiry),
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
            "signed_at": _iso(self.signed_at),
            "expires_at": _iso(self.valid_until(max_age_s)),
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
            "last_run_at": _iso(self.last_run_at),
            "since": _iso(self.since),
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
            "evaluated_at": _iso(self.evaluated_at),
            "checks": [c.to_dict() for c in self.checks],
        }


# -- evaluation ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


_LEVEL_RANK: Mapping[str | None, int] = {lvl: i + 1 for i, lvl in enumerate(LEVELS)}


def level_rank(level: str | None) -> int:
    """0 for no level, 1 bronze, 2 silver, 3 gold."""
    return _LEVEL_RANK.get(level, 0)


def validate_waiver(reason: str, expires_at: datetime | None, now: datetime) -> datetime:
    """Check a new waiver's fields; return its expiry. Raises ValueError with the problem."""
    if not reason or not reason.strip():
        raise ValueError("a waiver needs a reason")
    if expires_at is None:
        raise ValueError("a waiver needs an expiry (expires_at)")
    if expires_at <= now:
        raise ValueError("the expiry must be in the future")
    if expires_at > now + timedelta(days=MAX_WAIVER_DAYS):
        raise ValueError(f"a waiver may last at most {MAX_WAIVER_DAYS} days")
    return expires_at


def _first_finding(findings: Sequence[Mapping[str, Any]]) -> str:
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    ranked = sorted(findings, key=lambda f: order.get(str(f.get("severity")), 5))
    if not ranked:
        return ""
    f = ranked[0]
    return f"{f.get('code', '?')}: {f.get('message', '')}"


def evaluate_check(
    chk: CheckInput, now: datetime, *, max_age_s: float | None = None
) -> CheckReadiness:
    """The per-check view: staleness, attestation and waiver overlays, and a ``why``."""
    limit = STALE_INTERVALS * chk.interval_s
    if max_age_s is not None:
        limit = min(limit, max_age_s)
    never = chk.last_run_at is None
    stale = never or (now - chk.last_run_at > timedelta(seconds=limit))  # type: ignore[operator]
    underlying = "unknown" if stale else chk.state
    state = underlying
    overlay: str | None = None
    attestation = chk.attestation
    if (
        chk.kind == "attestation"
        and attestation is not None
        and attestation.valid(now, chk.attestation_max_age_s)
    ):
        state, overlay = "pass", "attested"
    waiver = chk.waiver if chk.waiver is not None and chk.waiver.active(now) else None
    expired_waiver = chk.waiver if chk.waiver is not None and waiver is None else None
    if waiver is not None:
        overlay = "waived"

    detail = _first_finding(chk.findings) or chk.summary
    if state == "pass":
        why = "passing"
    elif state == "warn":
        why = f"warning — {detail}" if detail else "warning"
    elif state == "fail":
        why = f"failing — {detail}" if detail else "failing"
    elif state == "error":
        why = f"could not measure — {chk.summary or 'repeated errors'}"
    elif never:
        why = "no result yet"
    elif stale:
        why = "stale — no recent result"
    else:
        why = "unknown"
    if overlay == "attested" and attestation is not None:
        until = attestation.valid_until(chk.attestation_max_age_s)
        why = f"attested by {attestation.signed_by}" + (
            f" until {_iso(until)}" if until is not None else ""
        )
    elif chk.kind == "attestation" and attestation is not None and state != "pass":
        why = f"attestation expired ({attestation.signed_by}, signed {_iso(attestation.signed_at)})"
    if waiver is not None:
        wuntil = _iso(waiver.effective_expiry)
        if state == "pass":
            why = f"waived — passing now, remove the waiver? (until {wuntil})"
        elif state in ("fail", "warn"):
            why = f"waived — currently failing ({why}); until {wuntil}: {waiver.reason}"
        else:
            why = f"waived — currently {state} ({why}); until {wuntil}: {waiver.reason}"
    elif expired_waiver is not None and expired_waiver.effective_expiry <= now:
        why = f"{why} (waiver expired {_iso(expired_waiver.effective_expiry)})"

    return CheckReadiness(
        check_id=chk.check_id,
        name=chk.name,
        kind=chk.kind,
        state=state,
        underlying_state=underlying,
        overlay=overlay,
        severity=chk.severity,
        weight=SEVERITY_WEIGHT.get(chk.severity, 4),
        level=chk.level if chk.level in LEVELS else "bronze",
        blocking=chk.blocking,
        stale=stale,
        not_configured=False,
        findings=tuple(chk.findings),
        summary=chk.summary,
        why=why,
        last_run_at=chk.last_run_at,
        since=chk.since,
        waiver=waiver or expired_waiver,
        attestation=attestation,
        attestation_max_age_s=chk.attestation_max_age_s,
    )


def _not_configured(kind: str) -> CheckReadiness:
    return CheckReadiness(
        check_id=None,
        name=kind,
        kind=kind,
        state="unknown",
        underlying_state="unknown",
        overlay=None,
        severity="high",
        weight=SEVERITY_WEIGHT["high"],
        level="bronze",
        blocking=False,
        stale=False,
        not_configured=True,
        findings=(),
        summary="",
        why=f"not configured — the production checklist needs a {kind} check",
        last_run_at=None,
        since=None,
    )


def evaluate_service(
    service: ServiceInput,
    checks: Sequence[CheckInput],
    now: datetime,
    *,
    min_score: int = 0,
    required_level: str = "bronze",
    max_age_s: float | None = None,
) -> ServiceReadiness:
    """Score, level and verdict of one service from its checks' latest states."""
    if required_level not in LEVELS:
        raise ValueError(f"unknown level {required_level!r} (one of {', '.join(LEVELS)})")
    views = [evaluate_check(c, now, max_age_s=max_age_s) for c in checks]
    views.sort(key=lambda v: (level_rank(v.level), v.name))
    missing: tuple[str, ...] = ()
    if service.profile == "production":
        kinds = {c.kind for c in checks}
        missing = tuple(k for k in PROFILE_NEEDS_CONFIG if k not in kinds)
        views.extend(_not_configured(k) for k in missing)

    scored = [v for v in views if v.scored]
    total = sum(v.weight for v in scored)
    got = sum(v.weight * CREDIT.get(v.state, 0.0) for v in scored)
    score = round(100.0 * got / total) if total > 0 else (100 if views else 0)

    ranked = [(level_rank(v.level), v.ok_for_level, v.name) for v in views]
    achieved: str | None = None
    for lvl in LEVELS if views else ():
        rank = level_rank(lvl)
        if all(ok for r, ok, _ in ranked if r <= rank):
            achieved = lvl
        else:
            break
    next_level = LEVELS[level_rank(achieved)] if level_rank(achieved) < len(LEVELS) else None
    blockers: tuple[str, ...] = ()
    if next_level is not None:
        nrank = level_rank(next_level)
        blockers = tuple(name for r, ok, name in ranked if r <= nrank and not ok)

    req = level_rank(required_level)
    not_ready: list[str] = []
    inconclusive: list[str] = []
    warnings: list[str] = []
    for v in views:
        if v.overlay == "waived":
            if v.underlying_state != "pass":
                warnings.append(f"{v.name}: {v.why}")
            continue
        in_scope = v.blocking or level_rank(v.level) <= req
        if v.not_configured:
            not_ready.append(f"{v.name}: {v.why}")
        elif v.state == "fail" and in_scope:
            label = "blocking check failing" if v.blocking else f"{v.level} check failing"
            not_ready.append(f"{v.name}: {label} — {v.why}")
        elif v.state in ("error", "unknown") and in_scope:
            inconclusive.append(f"{v.name}: {v.why}")
        elif v.state != "pass":
            warnings.append(f"{v.name}: {v.why}")
    if score < min_score:
        not_ready.append(f"score {score} is below the required {min_score}")

    if not views:
        verdict, reasons = "unknown", ["no checks"]
    elif not_ready:
        verdict, reasons = "not_ready", not_ready + inconclusive
    elif inconclusive:
        verdict, reasons = "unknown", inconclusive
    elif warnings:
        verdict, reasons = "ready_with_warnings", warnings
    else:
        verdict, reasons = "ready", []

    counts: dict[str, int] = {s: 0 for s in ("pass", "warn", "fail", "error", "unknown")}
    counts.update(waived=0, attested=0, not_configured=0)
    for v in views:
        counts[v.state] = counts.get(v.state, 0) + 1
        if v.overlay:
            counts[v.overlay] += 1
        if v.not_configured:
            counts["not_configured"] += 1

    return ServiceReadiness(
        service_id=service.id,
        service=service.name,
        environment=service.environment,
        score=score,
        verdict=verdict,
        level=achieved,
        required_level=required_level,
        min_score=min_score,
        next_level=next_level,
        next_level_blockers=blockers,
        not_configured=missing,
        reasons=tuple(reasons),
        checks=tuple(views),
        evaluated_at=now,
        counts=counts,
    )


__all__ = [
    "LEVELS",
    "MAX_WAIVER_DAYS",
    "SEVERITY_WEIGHT",
    "AttestationInput",
    "CheckInput",
    "CheckReadiness",
    "ServiceInput",
    "ServiceReadiness",
    "WaiverInput",
    "evaluate_check",
    "evaluate_service",
    "level_rank",
    "validate_waiver",
]
