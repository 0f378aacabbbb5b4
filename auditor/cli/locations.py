"""``--location`` / ``--source-address`` of ``auditor worker`` and ``auditor serve`` (issue #22)."""

from __future__ import annotations

import os
from typing import Any

import click


def location_options(func: Any) -> Any:
    """``--location`` / ``--source-address``: where this process's probes come from."""
    func = click.option(
        "--source-address",
        default=None,
        metavar="IP",
        help="Local address probes connect from (overrides AUDITOR_SOURCE_ADDRESS).",
    )(func)
    return click.option(
        "--location",
        default=None,
        metavar="NAME",
        help="Probe location of this worker, e.g. eu-west (overrides AUDITOR_LOCATION; PostgreSQL).",
    )(func)


def set_location(location: str | None, source_address: str | None) -> None:
    """The options win over the environment and the file, as ``--listen`` does."""
    for env, value in (("AUDITOR_LOCATION", location), ("AUDITOR_SOURCE_ADDRESS", source_address)):
        if value is not None:
            os.environ[env] = value
            os.environ[f"_AUDITOR_FROM_{env}"] = "1"  # errors name the option, not the variable
