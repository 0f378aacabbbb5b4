"""audit log: one row per change, login and token use of the admin surface

Revision ID: m003_audit_log
Revises: m002_list_indexes
Create Date: 2026-12-04 05:50:00

``audit_event`` records who (actor kind/id/name), when, what (action, target, a redacted
``{field: [old, new]}`` diff), from where (source IP, user agent, request id) and the
outcome. The admin list reads newest first, hence the ``(at, id)`` index; retention deletes
by ``at`` with the same index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.models import UTCDateTime

revision = "m003_audit_log"
down_revision = "m002_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("actor_name", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.String(length=36), nullable=True),
        sa.Column("target_name", sa.String(length=255), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at", "id"])
    op.create_index("ix_audit_event_action", "audit_event", ["action"])
    op.create_index("ix_audit_event_target_id", "audit_event", ["target_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_target_id", table_name="audit_event")
    op.drop_index("ix_audit_event_action", table_name="audit_event")
    op.drop_index("ix_audit_event_at", table_name="audit_event")
    op.drop_table("audit_event")
