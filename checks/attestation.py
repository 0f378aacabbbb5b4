"""The ``attestation`` check: a manual checklist item is signed off and not expired.

Sign-offs are made through the API/dashboard and read here via ``History.attestation``;
the check only judges their presence and age.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import field_validator

from checks.base import (
    Check,
    Finding,
    Options,
    Outcome,
    ProbeContext,
    RunStatus,
    Severity,
    Target,
    codes_of,
    outcome_from_findings,
)
from checks.bounds import Age


class AttestationOptions(Options):
    """DESIGN §4 keys ``item max_age``."""

    item: str
    #: a sign-off older than this is expired (besides its own ``expires_at``)
    max_age: Age | None = None

    @field_validator("item")
    @classmethod
    def _item(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("item must name the checklist item")
        return value.strip()


def _dt(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return None


def _iso(value: Any) -> str | None:
    dt = _dt(value)
    return dt.isoformat() if dt else None


class AttestationCheck(Check[AttestationOptions]):
    kind = "attestation"
    Options: ClassVar[type[AttestationOptions]] = AttestationOptions  # type: ignore[misc]
    codes = codes_of("attestation", "missing", "expired")

    async def collect(
        self, target: Target, options: AttestationOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        record = ctx.history.attestation(target.service_id, options.item)
        facts: dict[str, Any] = {
            "item": options.item,
            "observed_at": ctx.now().isoformat(),
            "attested": record is not None,
        }
        if record is not None:
            facts.update(
                signed_by=record.get("signed_by"),
                evidence_url=record.get("evidence_url"),
                signed_at=_iso(record.get("signed_at")),
                expires_at=_iso(record.get("expires_at")),
            )
        return facts

    def evaluate(self, facts: Mapping[str, Any], options: AttestationOptions) -> Outcome:
        item = facts["item"]
        if not facts.get("attested") or not facts.get("signed_at"):
            return outcome_from_findings(
                [
                    (
                        RunStatus.FAIL,
                        Finding(
                            "attestation.missing",
                            Severity.MEDIUM,
                            f"checklist item {item!r} has not been signed off",
                        ),
                    )
                ],
                "",
            )
        now = datetime.fromisoformat(facts["observed_at"])
        signed = datetime.fromisoformat(facts["signed_at"])
        expires = datetime.fromisoformat(facts["expires_at"]) if facts.get("expires_at") else None
        reasons = []
        if expires is not None and expires <= now:
            reasons.append(f"its sign-off expired on {expires.date().isoformat()}")
        age = (now - signed).total_seconds()
        if options.max_age is not None and age > options.max_age:
            reasons.append(
                f"signed {age / 86400:.0f} days ago (max {options.max_age / 86400:g} days)"
            )
        if reasons:
            return outcome_from_findings(
                [
                    (
                        RunStatus.FAIL,
                        Finding(
                            "attestation.expired",
                            Severity.MEDIUM,
                            f"checklist item {item!r}: " + "; ".join(reasons),
                        ),
                    )
                ],
                "",
            )
        who = facts.get("signed_by") or "someone"
        return outcome_from_findings(
            [], f"{item!r} signed off by {who} on {signed.date().isoformat()}"
        )
