"""Our own Alembic migrations build exactly the schema the models describe (SQLite and
PostgreSQL): a model change without its migration (an index, a column) fails here."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import auditor.store.models  # noqa: F401  (registers every table)
from auditor.store.db import Database


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    Database(db_url).close()  # upgrade to every head
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diffs = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diffs == []
