"""Where configuration is read from. Each source yields names and (possibly masked) values
into the collector only; the collector judges them at once and keeps the verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field


class Masked:
    """Stands in for a value the source would not show (Spring Boot's ``******``)."""

    def __repr__(self) -> str:
        return "<masked>"


MASKED = Masked()


@dataclass
class SourceRead:
    """A source's contents. ``values`` must never be stored, logged or returned as facts."""

    kind: str
    values: dict[str, str | Masked] = field(repr=False)
    #: names only (an endpoint that lists names without values)
    names_only: bool = False
    #: the source served unmasked values over the network
    values_exposed: bool = False

    def __repr__(self) -> str:  # never let a value reach a log through repr()
        return f"SourceRead(kind={self.kind!r}, names={len(self.values)})"
