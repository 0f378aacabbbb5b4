"""Service readiness (pure): score, verdict, level and a per-check explanation (DESIGN §6).

Inputs are plain frozen dataclasses (no database, no clock): :class:`ServiceInput`, one
:class:`CheckInput` per enabled check (definition + latest state + the check's newest waiver
+ the newest attestation of its item) and ``now``. :func:`evaluate_service` returns a frozen
:class:`ServiceReadiness` (:mod:`auditor.readiness.model`); one check's view is
:mod:`auditor.readiness.checks`, levels :mod:`auditor.readiness.levels`. Loading the inputs
from the store is ``auditor.readiness.queries``.

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
from datetime import datetime

from auditor.config import LEVELS, PROFILE_NEEDS_CONFIG
from auditor.readiness.checks import SEVERITY_RANK, evaluate_check, not_configured, top_finding
from auditor.readiness.levels import level_rank, levels_reached
from auditor.readiness.model import CheckInput, CheckReadiness, ServiceInput, ServiceReadiness

CREDIT: Mapping[str, float] = {"pass": 1.0, "warn": 0.5}
VERDICTS = ("ready", "ready_with_warnings", "not_ready", "unknown")


def _score(views: Sequence[CheckReadiness]) -> int:
    """Σ weight × credit / Σ weight over the scored checks, 0–100."""
    scored = [v for v in views if v.scored]
    total = sum(v.weight for v in scored)
    got = sum(v.weight * CREDIT.get(v.state, 0.0) for v in scored)
    return round(100.0 * got / total) if total > 0 else (100 if views else 0)


def _reason_order(v: CheckReadiness) -> tuple[int, int, str, str]:
    """Reasons list the most severe first: the check's severity, then its top finding's
    severity and code, then its name (not the alphabet of the sentence)."""
    top = top_finding(v.findings) or {}
    return (
        SEVERITY_RANK.get(v.severity, 5),
        SEVERITY_RANK.get(str(top.get("severity")), 5),
        str(top.get("code", "")),
        v.name,
    )


def _verdict(
    views: Sequence[CheckReadiness], score: int, min_score: int, required_level: str
) -> tuple[str, list[str]]:
    """The verdict and the reasons it is not ``ready`` (see the module's semantics)."""
    req = level_rank(required_level)
    not_ready: list[str] = []
    inconclusive: list[str] = []
    warnings: list[str] = []
    for v in sorted(views, key=_reason_order):
        if v.overlay == "waived":
            if v.underlying_state != "pass":
                warnings.append(f"{v.name}: {v.why}")
            continue
        in_scope = v.blocking or level_rank(v.level) <= req
        if v.not_configured:
            not_ready.append(f"{v.name}: {v.why}")
        elif v.state == "fail" and in_scope:
            label = "blocking check failing" if v.blocking else f"{v.level} check failing"
            # ``why`` opens with "failing" too: say it once
            detail = v.why.removeprefix("failing").removeprefix(" — ")
            not_ready.append(f"{v.name}: {label}" + (f" — {detail}" if detail else ""))
        elif v.state in ("error", "unknown") and in_scope:
            inconclusive.append(f"{v.name}: {v.why}")
        elif v.state != "pass":
            warnings.append(f"{v.name}: {v.why}")
    if score < min_score:
        not_ready.append(f"score {score} is below the required {min_score}")

    if not views:
        return "unknown", ["no checks"]
    if not_ready:
        return "not_ready", not_ready + inconclusive
    if inconclusive:
        return "unknown", inconclusive
    if warnings:
        return "ready_with_warnings", warnings
    return "ready", []


def _counts(views: Sequence[CheckReadiness]) -> dict[str, int]:
    """Checks per state, plus the waived, attested and not configured ones."""
    counts: dict[str, int] = {s: 0 for s in ("pass", "warn", "fail", "error", "unknown")}
    counts.update(waived=0, attested=0, not_configured=0)
    for v in views:
        counts[v.state] = counts.get(v.state, 0) + 1
        if v.overlay:
            counts[v.overlay] += 1
        if v.not_configured:
            counts["not_configured"] += 1
    return counts


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
        views.extend(not_configured(k) for k in missing)
    score = _score(views)
    achieved, next_level, blockers = levels_reached(views)
    verdict, reasons = _verdict(views, score, min_score, required_level)
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
        counts=_counts(views),
    )
