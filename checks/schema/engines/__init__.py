"""One catalog reader per engine, each ``read(db, settings) -> Catalog``."""

from __future__ import annotations

from collections.abc import Callable

from checks.migrations.db import Database
from checks.schema.engines import mysql, postgres, sqlite
from checks.schema.engines.common import ReadSettings
from checks.schema.model import Catalog

READERS: dict[str, Callable[[Database, ReadSettings], Catalog]] = {
    "postgresql": postgres.read,
    "mysql": mysql.read,
    "sqlite": sqlite.read,
}

__all__ = ["READERS", "ReadSettings"]
