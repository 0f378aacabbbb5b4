"""Where configuration is read from. Each source yields names and (possibly masked) values
into the collector only; the collector judges them at once and keeps the verdicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from checks.base import ProbeError


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


def read_file_source(
    kind: str,
    path: Path,
    parse: Callable[[bytes], dict[str, str]],
    explain: Callable[[OSError], str | None] = lambda exc: None,
    shown: str | None = None,
) -> SourceRead:
    """A local file's names and values, parsed at once; the raw buffer is dropped before
    this returns and an error names the file (``shown``, else ``path``), never its contents.
    ``explain`` words the errors a source knows better than "cannot read"."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        name = path if shown is None else shown
        reason = explain(exc) or f"cannot read {name}: {exc.strerror or type(exc).__name__}"
        raise ProbeError("unreadable", reason) from None
    values: dict[str, str | Masked] = dict(parse(raw))
    del raw
    return SourceRead(kind, values)
