"""list indexes: the transitions and alert-deliveries API lists read newest first

Revision ID: m002_list_indexes
Revises: m001_metric_counters
Create Date: 2026-11-28 04:15:00

``GET /api/v1/transitions`` (newest ``at`` first) and ``GET /api/v1/alert-deliveries``
(newest ``created_at`` first) sorted the whole table on every call: transitions are kept
for good, so the most-polled alert list got slower every day (7 ms a page at 2,000 rows
on SQLite). With ``(sort column, id)`` indexes a page is an index walk of ``limit`` rows.
"""

from __future__ import annotations

from alembic import op

revision = "m002_list_indexes"
down_revision = "m001_metric_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_transition_at", "transition", ["at", "id"])
    op.create_index("ix_delivery_created", "alert_delivery", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_created", table_name="alert_delivery")
    op.drop_index("ix_transition_at", table_name="transition")
