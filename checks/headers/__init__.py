"""The ``headers`` check kind: security headers graded like the HTTP Observatory.

Public API: :class:`HeadersCheck` (the registry's entry), :func:`grade_response` to
grade one in-memory response without network (e.g. the dashboard's own pages from a
Flask test client), and :func:`grade` for a full :class:`ScanInput`.
"""

from __future__ import annotations

from checks.headers.check import HeadersCheck, HeadersOptions
from checks.headers.model import ObservatoryResult, ScanInput
from checks.headers.observatory import grade, grade_response

__all__ = [
    "HeadersCheck",
    "HeadersOptions",
    "ObservatoryResult",
    "ScanInput",
    "grade",
    "grade_response",
]
