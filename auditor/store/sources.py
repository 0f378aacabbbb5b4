"""Where a service's definition lives: the config file, the API/dashboard, or a discovery source.

Config-file and discovered services are read-only through the API and the dashboard (409
``managed_by_config`` / ``managed_by_discovery``), except for waivers and attestations:
the next sync would overwrite an edit. This module is the one place that knows the names.
"""

from __future__ import annotations

from typing import Any

#: ``service.source`` / ``check_def.source`` of services found by ``[[discovery]]``
DISCOVERED = ("file_sd", "http_sd", "backstage")
#: sources whose ``source_ref`` is an endpoint URL rather than a file path
URL_SOURCES = frozenset({"http_sd"})


def is_discovered(source: str) -> bool:
    return source in DISCOVERED


def is_managed(source: str) -> bool:
    """True when something other than the API/dashboard owns this row's definition."""
    return source == "config" or is_discovered(source)


def source_view(source: str, ref: str | None) -> str | dict[str, Any]:
    """The API's ``source``: ``"config"`` / ``"api"``, or for a discovered service
    ``{"type": "file_sd", "path": "/etc/prom/web.json", "url": null}`` (DESIGN §4)."""
    if not is_discovered(source):
        return source
    if source in URL_SOURCES:
        return {"type": source, "path": None, "url": ref}
    return {"type": source, "path": ref, "url": None}


def source_label(source: str, ref: str | None) -> str:
    """One line for the dashboard: where this service's definition comes from."""
    if source == "config":
        return "config file"
    if source == "api":
        return "dashboard/API"
    return f"discovered ({source}): {ref or '?'}"
