"""Probe locations in the configuration: a worker's ``location``, a check's ``locations``/``quorum``.

Several locations need the PostgreSQL engine: the claims of each (check, location) and the
quorum's row locks are made for it, and SQLite is one host anyway. So on SQLite any
location setting is a configuration error naming the key, rather than being ignored (a
check that asks to be confirmed from three places must not quietly run from one).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from auditor.config.fields import require_slug

NEEDS_POSTGRES = (
    "probing from several locations needs the PostgreSQL engine "
    "(database_url is SQLite; use postgresql+psycopg://…)"
)


def is_sqlite(database_url: str) -> bool:
    return database_url.strip().lower().startswith("sqlite")


def require_location(value: str, database_url: str, declared: Sequence[str] = ()) -> str:
    """``[auditor] location``: a slug, or "" for a worker without a location; one of the
    declared ``locations`` when there are any (a typo would leave the worker idle)."""
    if value == "":
        return value
    require_slug(value)
    if is_sqlite(database_url):
        raise ValueError(NEEDS_POSTGRES)
    if declared and value not in declared:
        raise ValueError(f"{value!r} is not one of [auditor] locations ({', '.join(declared)})")
    return value


def require_locations(value: list[str], database_url: str) -> list[str]:
    """``[auditor] locations``: distinct slugs (what a check's ``"all"`` means)."""
    for item in value:
        require_slug(item)
    if len(set(value)) != len(value):
        raise ValueError("lists a location twice")
    if value and is_sqlite(database_url):
        raise ValueError(NEEDS_POSTGRES)
    return value


def require_address(value: str | None) -> str | None:
    if value is not None:
        try:
            ipaddress.ip_address(value)
        except ValueError as exc:
            raise ValueError(f"must be an IP address of this host, e.g. 127.0.0.2 ({exc})") from exc
    return value


def resolve_locations(
    locations: list[str] | str | None,
    quorum: int | None,
    declared: Sequence[str],
    database_url: str,
    prefix: str,
) -> tuple[tuple[str, ...], int | None, list[str]]:
    """A check's locations (``"all"`` expanded) and quorum (default: a majority), or problems."""
    from auditor.schedule.quorum import default_quorum

    if locations is None:
        if quorum is not None:
            return (), None, [f'{prefix}.quorum: needs locations (e.g. locations = "all")']
        return (), None, []
    if is_sqlite(database_url):
        return (), None, [f"{prefix}.locations: {NEEDS_POSTGRES}"]
    if locations == "all":
        if not declared:
            return (
                (),
                None,
                [f'{prefix}.locations: "all" needs [auditor] locations to list the locations'],
            )
        names = tuple(declared)
    elif isinstance(locations, str):
        return (), None, [f'{prefix}.locations: must be a list of location names or "all"']
    else:
        names = tuple(locations)
        problems = []
        for i, name in enumerate(names):
            try:
                require_slug(name)
            except ValueError as exc:
                problems.append(f"{prefix}.locations[{i}]: {exc}")
                continue
            if declared and name not in declared:
                problems.append(
                    f"{prefix}.locations[{i}]: unknown location {name!r} "
                    f"([auditor] locations lists {', '.join(declared)})"
                )
        if not names:
            problems.append(f'{prefix}.locations: must name at least one location (or "all")')
        elif len(set(names)) != len(names):
            problems.append(f"{prefix}.locations: lists a location twice")
        if problems:
            return (), None, problems
    if quorum is None:
        return names, default_quorum(len(names)), []
    if quorum > len(names):
        return (
            (),
            None,
            [f"{prefix}.quorum: {quorum} is more than the {len(names)} location(s) listed"],
        )
    return names, quorum, []
