"""metric counters: monotonic counters for /metrics, kept by triggers

Revision ID: m001_metric_counters
Revises: 0001
Create Date: 2026-11-27 22:30:00

``auditor_runs_total{kind,status}`` and ``auditor_alert_deliveries_total{receiver,result}``
must survive restarts, read the same on every node, and cost the same per scrape with 5M
runs as with none. So they are rows of ``metric_counter``, incremented by a trigger in the
very transaction that inserts the run (or finishes the delivery): nothing can write a run
without counting it, retention pruning never decrements, and a scrape reads a handful of
rows. Existing rows are counted once, here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "m001_metric_counters"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQLITE = [
    """
    CREATE TRIGGER trg_metric_counter_run AFTER INSERT ON run
    BEGIN
        INSERT INTO metric_counter (family, a, b, total)
        VALUES ('runs',
                COALESCE((SELECT kind FROM check_def WHERE id = NEW.check_id), 'unknown'),
                NEW.status, 1)
        ON CONFLICT (family, a, b) DO UPDATE SET total = total + 1;
    END
    """,
    """
    CREATE TRIGGER trg_metric_counter_delivery_ins AFTER INSERT ON alert_delivery
    WHEN NEW.status IN ('delivered', 'failed', 'suppressed')
    BEGIN
        INSERT INTO metric_counter (family, a, b, total)
        VALUES ('alert_deliveries', NEW.receiver, NEW.status, 1)
        ON CONFLICT (family, a, b) DO UPDATE SET total = total + 1;
    END
    """,
    """
    CREATE TRIGGER trg_metric_counter_delivery_upd AFTER UPDATE OF status ON alert_delivery
    WHEN NEW.status IN ('delivered', 'failed', 'suppressed') AND NEW.status <> OLD.status
    BEGIN
        INSERT INTO metric_counter (family, a, b, total)
        VALUES ('alert_deliveries', NEW.receiver, NEW.status, 1)
        ON CONFLICT (family, a, b) DO UPDATE SET total = total + 1;
    END
    """,
]

_POSTGRES = [
    """
    CREATE FUNCTION metric_counter_run() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO metric_counter (family, a, b, total)
        VALUES ('runs',
                COALESCE((SELECT kind FROM check_def WHERE id = NEW.check_id), 'unknown'),
                NEW.status, 1)
        ON CONFLICT (family, a, b) DO UPDATE SET total = metric_counter.total + 1;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION metric_counter_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.status IN ('delivered', 'failed', 'suppressed')
           AND (TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status) THEN
            INSERT INTO metric_counter (family, a, b, total)
            VALUES ('alert_deliveries', NEW.receiver, NEW.status, 1)
            ON CONFLICT (family, a, b) DO UPDATE SET total = metric_counter.total + 1;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER trg_metric_counter_run AFTER INSERT ON run
    FOR EACH ROW EXECUTE FUNCTION metric_counter_run()
    """,
    """
    CREATE TRIGGER trg_metric_counter_delivery AFTER INSERT OR UPDATE OF status
    ON alert_delivery FOR EACH ROW EXECUTE FUNCTION metric_counter_delivery()
    """,
]


def upgrade() -> None:
    op.create_table(
        "metric_counter",
        sa.Column("family", sa.String(length=32), nullable=False),
        sa.Column("a", sa.String(length=63), nullable=False),
        sa.Column("b", sa.String(length=32), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("family", "a", "b"),
    )
    op.execute(
        "INSERT INTO metric_counter (family, a, b, total) "
        "SELECT 'runs', COALESCE(c.kind, 'unknown'), r.status, COUNT(*) "
        "FROM run r LEFT JOIN check_def c ON c.id = r.check_id "
        "GROUP BY COALESCE(c.kind, 'unknown'), r.status"
    )
    op.execute(
        "INSERT INTO metric_counter (family, a, b, total) "
        "SELECT 'alert_deliveries', receiver, status, COUNT(*) FROM alert_delivery "
        "WHERE status IN ('delivered', 'failed', 'suppressed') GROUP BY receiver, status"
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        statements = _SQLITE
    elif dialect == "postgresql":
        statements = _POSTGRES
    else:
        raise NotImplementedError(f"metric counters: no triggers for the {dialect} dialect")
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_metric_counter_run ON run")
        op.execute("DROP TRIGGER IF EXISTS trg_metric_counter_delivery ON alert_delivery")
        op.execute("DROP FUNCTION IF EXISTS metric_counter_run()")
        op.execute("DROP FUNCTION IF EXISTS metric_counter_delivery()")
    else:
        for name in (
            "trg_metric_counter_run",
            "trg_metric_counter_delivery_ins",
            "trg_metric_counter_delivery_upd",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("metric_counter")
