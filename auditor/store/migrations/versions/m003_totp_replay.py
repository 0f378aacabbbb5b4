"""accounts: TOTP replay counter per user, and the user who created each API token

Revision ID: m003_totp_replay
Revises: m002_list_indexes
Create Date: 2026-12-04 05:50:00

``app_user.totp_last_counter`` is the RFC 6238 time-step of the last accepted code: a code
of that step or an earlier one is refused, so a code seen over a shoulder or in a proxy log
cannot be replayed inside its 90-second window. ``api_token.creator_user_id`` names the
dashboard user who made the token (NULL for CLI-made ones): deleting that user revokes it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "m003_totp_replay"
down_revision = "m002_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("totp_last_counter", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(sa.Column("creator_user_id", sa.String(length=36), nullable=True))
    op.create_index("ix_api_token_creator_user_id", "api_token", ["creator_user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_token_creator_user_id", table_name="api_token")
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("creator_user_id")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("totp_last_counter")
