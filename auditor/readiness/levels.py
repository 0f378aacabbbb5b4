"""Readiness levels: bronze < silver < gold, and which one a service's checks reach."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from auditor.config import LEVELS
from auditor.readiness.model import CheckReadiness

_LEVEL_RANK: Mapping[str | None, int] = {lvl: i + 1 for i, lvl in enumerate(LEVELS)}


def level_rank(level: str | None) -> int:
    """0 for no level, 1 bronze, 2 silver, 3 gold."""
    return _LEVEL_RANK.get(level, 0)


def levels_reached(
    views: Sequence[CheckReadiness],
) -> tuple[str | None, str | None, tuple[str, ...]]:
    """The highest level whose checks (at it and below) are all satisfied, the next one, and
    the checks keeping the service from that next level."""
    ranked = [(level_rank(v.level), v.ok_for_level, v.name) for v in views]
    achieved: str | None = None
    for lvl in LEVELS if views else ():
        rank = level_rank(lvl)
        if all(ok for r, ok, _ in ranked if r <= rank):
            achieved = lvl
        else:
            break
    next_level = LEVELS[level_rank(achieved)] if level_rank(achieved) < len(LEVELS) else None
    blockers: tuple[str, ...] = ()
    if next_level is not None:
        nrank = level_rank(next_level)
        blockers = tuple(name for r, ok, name in ranked if r <= nrank and not ok)
    return achieved, next_level, blockers
