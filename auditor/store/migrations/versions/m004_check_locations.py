"""probe locations: per-location schedule and state, the location of each run and node

Revision ID: m004_check_locations
Revises: m002_list_indexes
Create Date: 2026-12-04 08:40:00

A check may be run from several probe locations (issue #22, PostgreSQL): ``check_def`` gets
``locations`` (JSON list, ``[]`` = none) and ``quorum``; ``check_location`` holds each
location's due time, lease and debounced state; ``run.location`` says where a run came
from ("" for a check without locations), and one run per (check, location, due time) is
the new uniqueness rule; ``node.location`` is where a worker probes from, so a location
with no live worker can be reported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.models import UTCDateTime

#: SQLite rebuilds ``run`` (and, going down, ``check_def``) in batches, which loses or trips
#: over the runs counter of ``m001_metric_counters``: it is dropped first and made again
#: afterwards (the same statement)
_SQLITE_RUN_TRIGGER = """
CREATE TRIGGER trg_metric_counter_run AFTER INSERT ON run
BEGIN
    INSERT INTO metric_counter (family, a, b, total)
    VALUES ('runs',
            COALESCE((SELECT kind FROM check_def WHERE id = NEW.check_id), 'unknown'),
            NEW.status, 1)
    ON CONFLICT (family, a, b) DO UPDATE SET total = total + 1;
END
"""

revision = "m004_check_locations"
down_revision = "m002_list_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _drop_run_trigger()
    with op.batch_alter_table("check_def") as batch:
        batch.add_column(sa.Column("locations", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("quorum", sa.Integer(), nullable=True))
    with op.batch_alter_table("run") as batch:
        batch.add_column(
            sa.Column("location", sa.String(length=63), nullable=False, server_default="")
        )
        batch.drop_constraint("uq_run_check_due", type_="unique")
        batch.create_unique_constraint(
            "uq_run_check_location_due", ["check_id", "location", "due_at"]
        )
    with op.batch_alter_table("node") as batch:
        batch.add_column(
            sa.Column("location", sa.String(length=63), nullable=False, server_default="")
        )
    op.create_table(
        "check_location",
        sa.Column("check_id", sa.String(length=36), primary_key=True),
        sa.Column("location", sa.String(length=63), primary_key=True),
        sa.Column("service_id", sa.String(length=36), nullable=False),
        sa.Column("next_run_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("seen_request_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False, server_default="unknown"),
        sa.Column("since", UTCDateTime(timezone=True), nullable=True),
        sa.Column("consecutive_fail", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("consecutive_pass", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("consecutive_warn", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("consecutive_error", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("raw_status", sa.String(length=8), nullable=True),
        sa.Column("last_run_id", sa.String(length=36), nullable=True),
        sa.Column("last_run_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_duration_ms", sa.Float(), nullable=True),
        sa.Column("last_summary", sa.String(), nullable=False, server_default=""),
        sa.Column("last_findings", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_check_location_due", "check_location", ["location", "next_run_at"])
    op.create_index("ix_check_location_service_id", "check_location", ["service_id"])
    _restore_run_trigger()


def downgrade() -> None:
    _drop_run_trigger()
    op.drop_index("ix_check_location_service_id", table_name="check_location")
    op.drop_index("ix_check_location_due", table_name="check_location")
    op.drop_table("check_location")
    with op.batch_alter_table("node") as batch:
        batch.drop_column("location")
    with op.batch_alter_table("run") as batch:
        batch.drop_constraint("uq_run_check_location_due", type_="unique")
        batch.create_unique_constraint("uq_run_check_due", ["check_id", "due_at"])
        batch.drop_column("location")
    with op.batch_alter_table("check_def") as batch:
        batch.drop_column("quorum")
        batch.drop_column("locations")
    _restore_run_trigger()


def _drop_run_trigger() -> None:
    """SQLite: the trigger names check_def and run, which the batches below rebuild."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trg_metric_counter_run")


def _restore_run_trigger() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trg_metric_counter_run")
        op.execute(_SQLITE_RUN_TRIGGER)
