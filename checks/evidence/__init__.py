"""The ``evidence`` kind: reports pushed from CI/CD (load tests, JUnit, SARIF, rollback drills)
parsed (:mod:`.formats`), judged by the check's rules (:mod:`.rules`) and tied to the version
now deployed (:mod:`.check`)."""

from __future__ import annotations

from checks.evidence.check import EvidenceCheck, EvidenceOptions

__all__ = ["EvidenceCheck", "EvidenceOptions"]
