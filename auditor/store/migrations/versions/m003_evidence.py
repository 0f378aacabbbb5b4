"""evidence: reports pushed from CI/CD, deploy events, and token scopes

Revision ID: m003_evidence
Revises: m002_list_indexes
Create Date: 2026-12-04 08:40:00

``evidence`` keeps each pushed report (raw bytes, parsed summary, who/when/commit/version);
``deploy_event`` the versions CI says it deployed; ``api_token.scopes`` grants beyond the
role (``evidence``: may push evidence). A feature branch off ``m002_list_indexes`` like its
siblings; the store upgrades to all heads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.models import UTCDateTime

revision = "m003_evidence"
down_revision = "m002_list_indexes"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("service_id", sa.String(length=36), sa.ForeignKey("service.id"), nullable=False),
        sa.Column("item", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("pushed_by", sa.String(length=255), nullable=False),
        sa.Column("token_id", sa.String(length=36), nullable=True),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("version", sa.String(length=128), nullable=True),
        sa.Column("report", sa.LargeBinary(), nullable=False),
        sa.Column("report_size", sa.Integer(), nullable=False),
        sa.Column("report_sha256", sa.String(length=64), nullable=False),
        sa.Column("pushed_at", UTCDateTime(timezone=True), nullable=False),
        *_stamps(),
    )
    op.create_index("ix_evidence_item", "evidence", ["service_id", "item", "pushed_at"])
    op.create_table(
        "deploy_event",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("service_id", sa.String(length=36), sa.ForeignKey("service.id"), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("pushed_by", sa.String(length=255), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        *_stamps(),
    )
    op.create_index("ix_deploy_event_service_at", "deploy_event", ["service_id", "at"])
    with op.batch_alter_table("api_token") as batch:
        batch.add_column(
            sa.Column("scopes", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch:
        batch.drop_column("scopes")
    op.drop_index("ix_deploy_event_service_at", table_name="deploy_event")
    op.drop_table("deploy_event")
    op.drop_index("ix_evidence_item", table_name="evidence")
    op.drop_table("evidence")
