"""The ``production`` profile: the checks it adds to a service that does not declare them."""

from __future__ import annotations

from typing import Any

from auditor.config.services import ServiceModel

#: checks the production profile adds when a service does not declare them (DESIGN §4)
PRODUCTION_PROFILE: tuple[dict[str, Any], ...] = (
    {"kind": "tls"},
    {"kind": "headers"},
    {"kind": "redirect"},
    {"kind": "health", "path": "/health"},
    {"kind": "health", "name": "ready", "path": "/ready"},
    {"kind": "exposure"},
    # checklist items proven by reports pushed from CI/CD (``auditor evidence push``); a live
    # sign-off of the same item is the explicit fallback while no report has been pushed
    {"kind": "evidence", "name": "load-testing", "item": "load testing completed",
     "family": "load", "fallback": "attestation"},
    {"kind": "evidence", "name": "rollback-runbook", "item": "rollback procedure documented",
     "family": "rollback", "fallback": "attestation"},
    {"kind": "evidence", "name": "backup-recovery", "item": "backup and recovery tested",
     "family": "tests", "fallback": "attestation"},
    {"kind": "evidence", "name": "migrations-tested", "item": "migrations tested",
     "family": "tests", "fallback": "attestation"},
)  # fmt: skip

#: kinds the production checklist needs that the profile cannot configure by itself
PROFILE_NEEDS_CONFIG = ("env", "migrations", "backups")


def expand_profile(service: ServiceModel) -> list[dict[str, Any]]:
    checks = [dict(c) for c in service.checks]
    if service.profile != "production":
        return checks
    declared = {(c.get("name") or c.get("kind")) for c in checks}
    for default in PRODUCTION_PROFILE:
        name = default.get("name") or default["kind"]
        if name not in declared:
            checks.append(dict(default))
    return checks
