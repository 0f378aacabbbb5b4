"""The one error a report parser raises: what is wrong, as a code and a sentence."""

from __future__ import annotations


class ReportError(ValueError):
    """A report that cannot be read: ``problem`` is ``malformed``, ``truncated``,
    ``unknown_format`` or ``wrong_format``; the message names what is missing or wrong."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
