"""The ``headers`` check kind: security headers graded like the HTTP Observatory."""

from __future__ import annotations

from checks.headers.model import ObservatoryResult, ScanInput
from checks.headers.observatory import grade, grade_response

__all__ = ["ObservatoryResult", "ScanInput", "grade", "grade_response"]
