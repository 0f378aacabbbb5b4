"""DDL for the schema check's tests: a healthy schema and one table per rule that breaks it,
written for each engine the way a team would write it there."""

from __future__ import annotations

#: dialect -> column definitions every table shares (timestamps)
_TS = {
    "postgresql": "created_at timestamptz NOT NULL DEFAULT now(), "
    "updated_at timestamptz NOT NULL DEFAULT now()",
    "mysql": "created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
    "updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)",
    "sqlite": "created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, "
    "updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
}
_UUID = {"postgresql": "uuid", "mysql": "BINARY(16)", "sqlite": "UUID"}
_TEXT = {"postgresql": "text", "mysql": "VARCHAR(200)", "sqlite": "TEXT"}


def healthy(dialect: str) -> list[str]:
    """UUID and bigint-identity keys, timestamptz stamps, indexed FKs, a soft-delete-aware
    unique index, money in numeric."""
    ts, uuid, text = _TS[dialect], _UUID[dialect], _TEXT[dialect]
    if dialect == "postgresql":
        return [
            f"CREATE TABLE customers (id {uuid} PRIMARY KEY, email {text} NOT NULL, {ts}, "
            "deleted_at timestamptz)",
            "CREATE UNIQUE INDEX customers_email_live ON customers (email) "
            "WHERE deleted_at IS NULL",
            "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            f"customer_id {uuid} NOT NULL REFERENCES customers (id), "
            f"total numeric(12, 2) NOT NULL, {ts})",
            "CREATE INDEX orders_customer_id ON orders (customer_id)",
        ]
    if dialect == "mysql":
        return [
            f"CREATE TABLE customers (id {uuid} NOT NULL PRIMARY KEY, email {text} NOT NULL, "
            f"{ts}, deleted_at TIMESTAMP(6) NULL, live_email {text} AS "
            "(IF(deleted_at IS NULL, email, NULL)) VIRTUAL, "
            "UNIQUE KEY customers_live_email (live_email)) ENGINE=InnoDB",
            "CREATE TABLE orders (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, "
            f"customer_id {uuid} NOT NULL, total DECIMAL(12, 2) NOT NULL, {ts}, "
            "KEY orders_customer_id (customer_id), CONSTRAINT orders_customer_fk "
            "FOREIGN KEY (customer_id) REFERENCES customers (id)) ENGINE=InnoDB",
        ]
    return [
        f"CREATE TABLE customers (id {uuid} PRIMARY KEY, email {text} NOT NULL, {ts}, "
        "deleted_at TIMESTAMP)",
        "CREATE UNIQUE INDEX customers_email_live ON customers (email) WHERE deleted_at IS NULL",
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id UUID NOT NULL "
        f"REFERENCES customers (id), total NUMERIC(12, 2) NOT NULL, {ts})",
        "CREATE INDEX orders_customer_id ON orders (customer_id)",
    ]


def broken(dialect: str) -> tuple[list[str], dict[str, set[str]]]:
    """One table per rule that breaks it, and the finding codes expected per table."""
    ts, uuid, text = _TS[dialect], _UUID[dialect], _TEXT[dialect]
    pg, my = dialect == "postgresql", dialect == "mysql"
    real = {"postgresql": "double precision", "mysql": "DOUBLE", "sqlite": "REAL"}[dialect]
    stamp = {"postgresql": "timestamptz", "mysql": "TIMESTAMP(6) NULL", "sqlite": "TIMESTAMP"}
    sql = [
        f"CREATE TABLE np_events (name {text}, {ts})",
        f"CREATE TABLE mt_notes (id {uuid} PRIMARY KEY, body {text})",
        f"CREATE TABLE fm_invoices (id {uuid} PRIMARY KEY, amount {real} NOT NULL, {ts})",
        f"CREATE TABLE di_skus (id {uuid} PRIMARY KEY, code {text} NOT NULL, {ts})",
        "CREATE INDEX di_skus_code ON di_skus (code)",
        "CREATE INDEX di_skus_code_again ON di_skus (code)",
        f"CREATE TABLE sd_users (id {uuid} PRIMARY KEY, email {text} NOT NULL, {ts}, "
        f"deleted_at {stamp[dialect]}, CONSTRAINT sd_users_email UNIQUE (email))",
    ]
    expect = {
        "np_events": {"schema.no_primary_key"},
        "mt_notes": {"schema.missing_timestamps"},
        "fm_invoices": {"schema.float_money"},
        "di_skus": {"schema.duplicate_index"},
        "sd_users": {"schema.soft_delete_unique"},
    }
    if pg:
        sql += [
            f"CREATE TABLE kt_tags (id integer PRIMARY KEY, {ts})",
            f"CREATE TABLE se_hits (id serial PRIMARY KEY, {ts})",
            "SELECT setval('se_hits_id_seq', 2000000000)",
            "CREATE TABLE tz_logs (id uuid PRIMARY KEY, created_at timestamp NOT NULL, "
            "updated_at timestamptz NOT NULL)",
        ]
        expect["tz_logs"] = {"schema.timestamp_without_tz"}
    elif my:
        sql += [
            f"CREATE TABLE kt_tags (id INT AUTO_INCREMENT PRIMARY KEY, {ts})",
            f"CREATE TABLE se_hits (id INT AUTO_INCREMENT PRIMARY KEY, {ts}) "
            "AUTO_INCREMENT=2000000000",
        ]
    else:
        sql += [f"CREATE TABLE kt_tags (id INT PRIMARY KEY, {ts})"]
    expect["kt_tags"] = {"schema.key_type"}
    if pg or my:
        expect["se_hits"] = {"schema.key_type", "schema.serial_exhaustion"}
    if not my:  # InnoDB indexes every foreign key itself
        sql.append(
            f"CREATE TABLE fk_items (id {uuid} PRIMARY KEY, "
            f"customer_id {uuid} REFERENCES customers (id), {ts})"
        )
        expect["fk_items"] = {"schema.fk_unindexed"}
    return sql, expect
