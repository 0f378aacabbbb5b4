"""What repositories raise for the caller to word: a missing row, a name already in use."""

from __future__ import annotations


class NotFound(LookupError):
    """The row does not exist or is soft-deleted; ``what`` names it for the caller's message."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class NameTaken(Exception):
    """Another row already has this name (found first, or by the database's unique index)."""
