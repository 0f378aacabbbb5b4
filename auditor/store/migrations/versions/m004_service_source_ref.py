"""service source_ref: where a discovered service was found (issue #22)

Revision ID: m004_service_source_ref
Revises: m002_list_indexes
Create Date: 2026-12-04 08:00:00

A service found by ``[[discovery]]`` has ``source`` ``file_sd`` | ``http_sd`` | ``backstage``
and ``source_ref`` the file path or endpoint URL that lists it: the sync archives the
services of a file that no longer lists them, and the API shows it as
``"source": {"type", "path" | "url"}``.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "m004_service_source_ref"
down_revision = "m002_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(
            sa.Column("source_ref", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("source_ref")
