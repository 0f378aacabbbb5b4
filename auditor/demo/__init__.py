"""``auditor demo``: local demo services plus the daemon auditing them, with no setup.

Everything lives under ``data_dir``: certificates, the two services' migration databases,
backup files and .env files, the generated ``config.toml`` and the auditor's SQLite store.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

from auditor.demo.certs import make_demo_certs
from auditor.demo.evidence import seed_evidence
from auditor.demo.servers import BrokenHandler, DemoServer, HealthyHandler, redirect_handler

log = structlog.get_logger("auditor.demo")

HEALTHY_HEAD = "4f2a9c1d7e3b"
BROKEN_APPLIED = "1a2b3c4d5e6f"
BROKEN_EXPECTED = "9f8e7d6c5b4a"
CHECKLIST = (
    "load testing completed",
    "rollback procedure documented",
    "backup and recovery tested",
)


def _alembic_db(path: Path, version: str) -> None:
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (version,))
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")


def _backup(directory: Path, size: int, age_s: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.dump"):
        old.unlink()
    stamp = time.strftime("%Y%m%d", time.gmtime(time.time() - age_s))
    path = directory / f"db-{stamp}.dump"
    with path.open("wb") as handle:
        handle.truncate(size)
    os.utime(path, (time.time() - age_s, time.time() - age_s))


def prepare(data_dir: Path, listen: str) -> tuple[Path, list[DemoServer], dict[str, str]]:
    """Create all demo files, start the demo services, write and return the config path."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ca, good, bad = make_demo_certs(data_dir / "certs")
    servers = [
        DemoServer(HealthyHandler, (str(good.cert), str(good.key))).start(),
        DemoServer(BrokenHandler, (str(bad.cert), str(bad.key))).start(),
    ]
    servers.append(DemoServer(redirect_handler(servers[0].port)).start())
    servers.append(DemoServer(BrokenHandler).start())  # plain HTTP that never redirects
    healthy_port, broken_port, healthy_http, broken_http = (s.port for s in servers)

    _alembic_db(data_dir / "payments.sqlite", HEALTHY_HEAD)
    _alembic_db(data_dir / "orders.sqlite", BROKEN_APPLIED)
    _backup(data_dir / "backups" / "payments", 2_000_000, 3600)
    _backup(data_dir / "backups" / "orders", 10_000, 10 * 86400)
    (data_dir / "payments.env").write_text(
        f"DATABASE_URL=postgresql://payments:{secrets.token_urlsafe(24)}@db.internal/payments\n"
        f"SECRET_KEY={secrets.token_urlsafe(48)}\nSENTRY_DSN=https://{secrets.token_hex(16)}@sentry.internal/3\n"
        "DEBUG=false\n"
    )
    (data_dir / "orders.env").write_text(
        "DATABASE_URL=postgresql://postgres:postgres@db.internal/orders\nSECRET_KEY=changeme\nDEBUG=true\n"
    )
    environ = {
        "DEMO_PAYMENTS_DSN": f"sqlite:///{(data_dir / 'payments.sqlite').resolve()}",
        "DEMO_ORDERS_DSN": f"sqlite:///{(data_dir / 'orders.sqlite').resolve()}",
    }

    def service(
        name: str,
        port: int,
        http_port: int,
        dsn_env: str,
        head: str,
        backups: str,
        envfile: str,
        owner: str,
        tags: str,
        verify: bool = True,
    ) -> str:
        # the broken service skips certificate verification on its HTTP checks so that its
        # other faults (500s, stack traces) show too; its tls check still reports the cert
        no_verify = "" if verify else "\nverify = false"
        return f'''
[[services]]
name = "{name}"
url = "https://127.0.0.1:{port}"
environment = "production"
owner = "{owner}"
tags = [{tags}]
profile = "production"

[[services.checks]]
kind = "tls"
ca_file = "{ca}"
interval = "2m"

[[services.checks]]
kind = "headers"
ca_file = "{ca}"
http_port = {http_port}
interval = "2m"

[[services.checks]]
kind = "redirect"
http_port = {http_port}
interval = "2m"

[[services.checks]]
kind = "health"
path = "/health"
ca_file = "{ca}"{no_verify}
interval = "20s"
timeout = "5s"
severity = "critical"
blocking = true
conditions = ["[STATUS] == 200", "[BODY].status == pass", "[RESPONSE_TIME] < 500"]

[[services.checks]]
kind = "health"
name = "ready"
path = "/ready"
ca_file = "{ca}"{no_verify}
interval = "30s"

[[services.checks]]
kind = "exposure"
ca_file = "{ca}"{no_verify}
interval = "2m"

[[services.checks]]
kind = "migrations"
tool = "alembic"
dsn_env = "{dsn_env}"
expected_head = "{head}"
level = "silver"
interval = "1m"

[[services.checks]]
kind = "backups"
mode = "artifact"
path = "{(data_dir / "backups" / backups).resolve()}"
pattern = "*.dump"
max_age = "26h"
min_size = "1MB"
level = "silver"
interval = "1m"

[[services.checks]]
kind = "env"
source = "dotenv:{(data_dir / envfile).resolve()}"
required = ["DATABASE_URL", "SECRET_KEY", "SENTRY_DSN"]
level = "gold"
interval = "1m"
'''

    text = (
        f'''# Generated by `auditor demo` — regenerated on every start.
[auditor]
database_url = "sqlite:///{(data_dir / "auditor.db").resolve()}"
listen = "{listen}"
concurrency = 20
default_interval = "1m"
default_timeout = "10s"
allow_private_networks = true
anonymous_read = true
'''
        + service(
            "payments-api",
            healthy_port,
            healthy_http,
            "DEMO_PAYMENTS_DSN",
            HEALTHY_HEAD,
            "payments",
            "payments.env",
            "team-payments",
            '"tier-1"',
        )
        + service(
            "orders-api",
            broken_port,
            broken_http,
            "DEMO_ORDERS_DSN",
            BROKEN_EXPECTED,
            "orders",
            "orders.env",
            "team-orders",
            '"tier-2"',
            verify=False,
        )
    )
    text += _discovered(data_dir, healthy_port)
    path = data_dir / "config.toml"
    path.write_text(text)
    return path, servers, environ


def _discovered(data_dir: Path, port: int) -> str:
    """A Prometheus file_sd target file listing one more service (the healthy server under
    another name), and the ``[[discovery]]`` table that finds it: the demo's discovered service."""
    targets = data_dir / "discovery" / "targets.json"
    targets.parent.mkdir(parents=True, exist_ok=True)
    labels = {"job": "inventory-api", "env": "staging", "team": "team-inventory"}
    groups = [{"targets": [f"127.0.0.1:{port}"], "labels": {**labels, "__scheme__": "https"}}]
    targets.write_text(json.dumps(groups, indent=2) + "\n")
    return f'''
# a service found, not typed in: edit {targets.resolve()} and it follows within 30 s
[[discovery]]
type = "file_sd"
path = ["{targets.parent.resolve()}/*.json"]
labels = {{ job = "name", env = "environment", team = "owner" }}

[[discovery.checks]]
kind = "health"
path = "/health"
verify = false   # discovered checks run on the API tier: no ca_file, so no demo CA here
interval = "30s"
conditions = ["[STATUS] == 200", "[BODY].status == pass"]
'''


def _sign_checklist(store: Any, service_name: str) -> None:
    """The healthy service has its manual checklist signed off (once)."""
    from sqlmodel import select

    from auditor.store.models import Attestation, Service, utcnow

    with store.write() as s:
        svc = s.exec(select(Service).where(Service.name == service_name)).one()
        done = {
            a.item
            for a in s.exec(select(Attestation).where(Attestation.service_id == svc.id)).all()
        }
        for item in CHECKLIST:
            if item not in done:
                s.add(
                    Attestation(
                        service_id=svc.id,
                        item=item,
                        signed_by="demo@example.com",
                        evidence_url="https://wiki.example.com/payments/readiness",
                        comment="Signed off by the demo",
                        signed_at=utcnow(),
                        expires_at=utcnow() + timedelta(days=90),
                    )
                )


def _demo_user(store: Any, data_dir: Path) -> str:
    """An admin ``demo`` user for the manage pages; its password is kept in the data dir."""
    from auditor.store.accounts import create_user

    secret_file = data_dir / "demo-password.txt"
    if secret_file.exists():
        return secret_file.read_text().strip()
    password = secrets.token_urlsafe(12)
    try:
        create_user(store, username="demo", role="admin", password=password)
    except ValueError:  # the user exists from an earlier run whose password file was removed
        return "(unchanged: see an earlier run, or `auditor user create`)"
    secret_file.write_text(password + "\n")
    secret_file.chmod(0o600)
    return password


def run_demo(data_dir: str, listen: str, *, once: bool = False) -> int:
    from auditor.config import load_config
    from auditor.config.sync import sync_config
    from auditor.process.daemon import run_daemon
    from auditor.store.db import Database

    path, servers, environ = prepare(Path(data_dir), listen)
    os.environ.update(environ)
    try:
        config = load_config(path, environ=os.environ)
        store = Database(config.auditor.database_url)
        sync_config(store, config)
        import asyncio

        from auditor.discovery import discover_once

        asyncio.run(discover_once(config, store))  # the daemon re-reads it as it changes
        _sign_checklist(store, "payments-api")
        seed_evidence(store)
        password = _demo_user(store, Path(data_dir))
        if once:
            from auditor.audit import print_text, run_audit

            results = asyncio.run(run_audit(config, store))
            summary = {
                k: sum(1 for r in results if str(r.status) == k)
                for k in ("pass", "warn", "fail", "error")
            }
            print_text(results, summary)
            return 0
        log.info(
            "demo_ready",
            dashboard=f"http://{config.auditor.listen}/",  # AUDITOR_LISTEN may override
            sign_in="demo",
            password=password,
            config=str(path),
            healthy=f"https://127.0.0.1:{servers[0].port}",
            broken=f"https://127.0.0.1:{servers[1].port}",
        )
        return run_daemon(config, store, with_worker=True, with_web=True)
    finally:
        for server in servers:
            server.stop()
