"""What a probe runs for and what it produces: the types shared by checks, prober and store.

They live below everything else (no imports from the project) so that ``checks/``, the
prober and the store can all use them without importing each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Raw result of one run (contract)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


STATUS_RANK = {RunStatus.PASS: 0, RunStatus.WARN: 1, RunStatus.FAIL: 2, RunStatus.ERROR: 3}
#: most severe first: the order findings are listed in and the one a headline is taken from
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}

#: what OpenSSL wraps its reasons in: "[SSL: CERTIFICATE_VERIFY_FAILED] … (_ssl.c:1006)"
_SSL_NOISE = re.compile(r"\s*\(_ssl\.c:\d+\)|\[(?:SSL|X509)(?:: [A-Z0-9_]+)?\]\s*")


def plain_ssl_text(text: str) -> str:
    """``text`` without OpenSSL's ``[SSL: REASON]`` tags and ``(_ssl.c:NNN)`` source
    locations: an operator reads the reason, not where in CPython it was raised."""
    if "_ssl.c" not in text and "[SSL" not in text and "[X509" not in text:
        return text
    return _SSL_NOISE.sub("", text).strip()


@dataclass(frozen=True)
class Finding:
    """One reason a check is not clean; ``code`` is ``<kind>.<name>`` (contract)."""

    code: str
    severity: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


class ProbeError(Exception):
    """A probe could not measure (or measured an unambiguous failure).

    ``error_kind`` is a stable machine name: ``timeout``, ``refused``, ``dns``, ``reset``,
    ``tls``, ``blocked_by_policy``, ``body_too_large``, ``too_many_redirects``,
    ``invalid_response``, ``config``, ``unreadable``. ``status`` is ``error`` when nothing
    could be measured and ``fail`` when the target itself is at fault (a 1 GB health body).
    """

    def __init__(self, error_kind: str, message: str, status: RunStatus = RunStatus.ERROR) -> None:
        super().__init__(message)
        self.error_kind = error_kind
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Target:
    """The service and check a probe runs for; everything a check may know about them."""

    service: str
    url: str
    check: str
    kind: str
    environment: str = "production"
    tags: tuple[str, ...] = ()
    owner: str = ""
    public: bool = False
    service_id: str = ""
    check_id: str = ""

    def url_for(self, path: str) -> str:
        """Join ``path`` onto the service URL (absolute URLs are kept as they are)."""
        if path.startswith(("http://", "https://")):
            return path
        return self.url.rstrip("/") + "/" + path.lstrip("/")


@dataclass
class RunResult:
    """One finished run, ready to store and print (audit JSON's per-result shape)."""

    target: Target
    status: RunStatus
    summary: str
    findings: list[Finding]
    facts: dict[str, Any]
    started_at: datetime
    duration_ms: float
    error: str | None = None
    error_kind: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def unmeasured(
        cls,
        target: Target,
        error_kind: str,
        message: str,
        *,
        started_at: datetime,
        duration_ms: float = 0.0,
    ) -> RunResult:
        """An ``error`` result with one ``<kind>.<error_kind>`` finding: nothing was measured."""
        finding = Finding(f"{target.kind}.{error_kind}", Severity.HIGH, message)
        return cls(
            target=target,
            status=RunStatus.ERROR,
            summary=message,
            findings=[finding],
            facts={},
            started_at=started_at,
            duration_ms=duration_ms,
            error=message,
            error_kind=error_kind,
        )

    def to_dict(self) -> dict[str, Any]:
        """The audit JSON shape (DESIGN §5)."""
        return {
            "service": self.target.service,
            "check": self.target.check,
            "kind": self.target.kind,
            "status": str(self.status),
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
            "facts": self.facts,
            "duration_ms": round(self.duration_ms, 1),
            "started_at": self.started_at.isoformat().replace("+00:00", "Z"),
            "error": self.error,
        }
