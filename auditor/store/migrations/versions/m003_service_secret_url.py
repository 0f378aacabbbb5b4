"""service secret url: a service URL's credentials are stored encrypted (issue #17)

Revision ID: m003_service_secret_url
Revises: m002_list_indexes
Create Date: 2026-12-04 05:50:00

A service URL given through the API or the dashboard with userinfo (``user:pass@``) or a
token-like query item keeps only its redacted form in ``service.url``; the full URL is a
Fernet token in ``service.secret_url`` (the same machinery as ``check_def.secret_options``).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "m003_service_secret_url"
down_revision = "m002_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(
            sa.Column("secret_url", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("secret_url")
