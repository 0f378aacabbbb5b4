"""One small adapter per migration tool, and ``tool = "auto"`` detection."""

from __future__ import annotations

from checks.migrations.adapters.alembic import AlembicAdapter
from checks.migrations.adapters.atlas import AtlasAdapter
from checks.migrations.adapters.base import Adapter, LedgerSettings
from checks.migrations.adapters.dbmate import DbmateAdapter
from checks.migrations.adapters.django import DjangoAdapter
from checks.migrations.adapters.flyway import FlywayAdapter
from checks.migrations.adapters.golang_migrate import GolangMigrateAdapter
from checks.migrations.adapters.knex import KnexAdapter
from checks.migrations.adapters.liquibase import LiquibaseAdapter
from checks.migrations.adapters.prisma import PrismaAdapter
from checks.migrations.adapters.rails import RailsAdapter
from checks.migrations.adapters.sequelize import SequelizeAdapter
from checks.migrations.adapters.sqitch import SqitchAdapter
from checks.migrations.db import Database, TableRef

#: detection order: tools with distinctive tables first, then the shared ``schema_migrations``
ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        FlywayAdapter(),
        LiquibaseAdapter(),
        PrismaAdapter(),
        AtlasAdapter(),
        KnexAdapter(),
        SequelizeAdapter(),
        DjangoAdapter(),
        AlembicAdapter(),
        SqitchAdapter(),
        GolangMigrateAdapter(),
        RailsAdapter(),
        DbmateAdapter(),
    )
}

TOOLS = tuple(ADAPTERS)


def detect(db: Database, settings: LedgerSettings) -> list[tuple[Adapter, TableRef]]:
    """Every tool whose ledger table is present, in detection order."""
    found = []
    for adapter in ADAPTERS.values():
        ref = adapter.detect(db, settings)
        if ref is not None:
            found.append((adapter, ref))
    return found


__all__ = ["ADAPTERS", "TOOLS", "Adapter", "LedgerSettings", "detect"]
