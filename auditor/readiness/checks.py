"""One check's readiness: staleness, the attestation and waiver overlays, and a ``why``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from auditor.config import LEVELS
from auditor.readiness.model import AttestationInput, CheckInput, CheckReadiness, WaiverInput, iso
from auditor.schedule.state import STALE_INTERVALS

SEVERITY_WEIGHT: Mapping[str, int] = {"critical": 8, "high": 4, "medium": 2, "low": 1, "info": 0}
#: most severe first (``auditor.probe.outcome.SEVERITY_RANK``'s order)
SEVERITY_RANK: Mapping[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


@dataclass(frozen=True, slots=True)
class _Standing:
    """Where a check stands before it is explained: what the runs say, and the overlays."""

    never: bool
    stale: bool
    underlying: str
    state: str
    overlay: str | None
    waiver: WaiverInput | None  # the active one
    expired_waiver: WaiverInput | None


def _standing(chk: CheckInput, now: datetime, max_age_s: float | None) -> _Standing:
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
    return _Standing(never, stale, underlying, state, overlay, waiver, expired_waiver)


def top_finding(findings: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The most severe finding (then by code); the one a check's headline names."""
    ranked = sorted(
        findings,
        key=lambda f: (SEVERITY_RANK.get(str(f.get("severity")), 5), str(f.get("code", ""))),
    )
    return ranked[0] if ranked else None


def _first_finding(findings: Sequence[Mapping[str, Any]]) -> str:
    f = top_finding(findings)
    return f"{f.get('code', '?')}: {f.get('message', '')}" if f is not None else ""


def _unmeasured(chk: CheckInput) -> str:
    """Why the latest run measured nothing, from its error summary."""
    return f"could not measure: {chk.summary or 'repeated errors'}"


def _state_why(chk: CheckInput, at: _Standing) -> str:
    """The state in words, with the most severe finding when it is not passing; an
    unmeasured check says why ("could not measure: …"), never a bare "unknown"."""
    detail = _first_finding(chk.findings) or chk.summary
    last_errored = chk.raw_status == "error"
    if at.state == "pass":
        return f"passing — last run {_unmeasured(chk)}" if last_errored else "passing"
    if at.state == "warn":
        return f"warning — {detail}" if detail else "warning"
    if at.state == "fail":
        return f"failing — {detail}" if detail else "failing"
    if at.state == "error":
        return _unmeasured(chk)
    if at.never:
        return "no result yet"
    if at.stale:
        return "stale — no recent result"
    if last_errored:
        return _unmeasured(chk)
    return f"not measured yet: {chk.summary}" if chk.summary else "no measured result yet"


def _why(chk: CheckInput, at: _Standing, now: datetime) -> str:
    """The state in words, then what an attestation or a waiver changes about it."""
    why = _state_why(chk, at)
    attestation: AttestationInput | None = chk.attestation
    if at.overlay == "attested" and attestation is not None:
        until = attestation.valid_until(chk.attestation_max_age_s)
        why = f"attested by {attestation.signed_by}" + (
            f" until {iso(until)}" if until is not None else ""
        )
    elif chk.kind == "attestation" and attestation is not None and at.state != "pass":
        why = f"attestation expired ({attestation.signed_by}, signed {iso(attestation.signed_at)})"
    waiver, expired = at.waiver, at.expired_waiver
    if waiver is not None:
        wuntil = iso(waiver.effective_expiry)
        if at.state == "pass":
            why = f"waived — passing now, remove the waiver? (until {wuntil})"
        elif at.state in ("fail", "warn"):  # ``why`` says "failing — …" / "warning — …"
            why = f"waived — currently {why}; until {wuntil}: {waiver.reason}"
        else:
            why = f"waived — {why}; until {wuntil}: {waiver.reason}"
    elif expired is not None and expired.effective_expiry <= now:
        why = f"{why} (waiver expired {iso(expired.effective_expiry)})"
    return why


def evaluate_check(
    chk: CheckInput, now: datetime, *, max_age_s: float | None = None
) -> CheckReadiness:
    """The per-check view: staleness, attestation and waiver overlays, and a ``why``."""
    at = _standing(chk, now, max_age_s)
    return CheckReadiness(
        check_id=chk.check_id,
        name=chk.name,
        kind=chk.kind,
        state=at.state,
        underlying_state=at.underlying,
        overlay=at.overlay,
        severity=chk.severity,
        weight=SEVERITY_WEIGHT.get(chk.severity, 4),
        level=chk.level if chk.level in LEVELS else "bronze",
        blocking=chk.blocking,
        stale=at.stale,
        not_configured=False,
        findings=tuple(chk.findings),
        summary=chk.summary,
        why=_why(chk, at, now),
        last_run_at=chk.last_run_at,
        since=chk.since,
        waiver=at.waiver or at.expired_waiver,
        attestation=chk.attestation,
        attestation_max_age_s=chk.attestation_max_age_s,
    )


def not_configured(kind: str) -> CheckReadiness:
    """The placeholder for a checklist kind the ``production`` profile needs but nobody set up."""
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
