"""Make the store's discovered services match what the sources list now.

Added and changed services are written like config-file ones (same helpers, with the
source and the file/URL recorded); a service its file or endpoint no longer lists is
**archived** — soft-deleted with its checks, history kept, back as before if it is listed
again. Nothing is archived from a read that had problems (a malformed file, a target
without its name label, an endpoint that is down): bad input never removes a service.
A name the config file or the API already uses is left alone, with an error naming both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, select

from auditor.config import ServiceConfig
from auditor.config.sync import apply_service, sync_checks, sync_event, tally
from auditor.discovery.readers import SourceRead
from auditor.store.catalog import checks_by_name, services_by_name
from auditor.store.db import Database
from auditor.store.models import Service, utcnow
from auditor.store.secret_fields import redact_text
from auditor.store.service_admin import retire
from auditor.store.sources import DISCOVERED, is_discovered

log = structlog.get_logger("auditor.discovery")


def _owner(svc: Service | None) -> str:
    if svc is None:
        return "?"
    if svc.source in ("config", "api"):
        return "the config file" if svc.source == "config" else "the API/dashboard"
    return f"{svc.source} {svc.source_ref}"


def _upsert(
    s: Session,
    svc: Service | None,
    cfg: ServiceConfig,
    read: SourceRead,
    now: datetime,
    counts: dict[str, int],
    names: dict[str, list[str]],
) -> Service | None:
    """Add or update one service and its checks; the new row when it was added."""
    added = None
    if svc is None:
        svc = added = Service(name=cfg.name, url=cfg.url, source=read.type)
        apply_service(svc, cfg, now, read.type, read.ref)
        s.add(svc)
        s.flush()
        tally(counts, names, "services_added", cfg.name)
    elif apply_service(svc, cfg, now, read.type, read.ref):
        s.add(svc)
        tally(counts, names, "services_updated", cfg.name)
    sync_checks(s, svc, cfg, now, counts, True, read.type, names)
    s.flush()
    return added


def _any_discovered(db: Database) -> bool:
    with db.read() as s:
        stmt = select(Service.id).where(
            col(Service.source).in_(DISCOVERED), col(Service.deleted_at).is_(None)
        )
        return s.exec(stmt.limit(1)).first() is not None


def sync_discovered(
    db: Database,
    reads: Sequence[SourceRead],
    now: datetime | None = None,
    *,
    archive: bool = True,
) -> dict[str, int]:
    """One transaction: upsert every listed service, archive the ones no longer listed.

    ``archive=False`` only adds and updates: one-shot commands (``audit``) may run with a
    cut-down file and must not archive what its other sources list."""
    now = now or utcnow()
    counts = {
        "services_added": 0,
        "services_updated": 0,
        "services_archived": 0,
        "checks_added": 0,
        "checks_updated": 0,
        "checks_disabled": 0,
        "conflicts": 0,
    }
    claimed: dict[str, SourceRead] = {}
    names: dict[str, list[str]] = {}  # which rows changed, for the audit log
    if not reads and not _any_discovered(db):
        return counts  # nothing to add and nothing to archive: no write transaction
    with db.write() as s:
        existing = services_by_name(s)
        for read in reads:
            for cfg in read.services:
                svc = existing.get(cfg.name)
                earlier = claimed.get(cfg.name)
                live_elsewhere = (
                    svc is not None and svc.deleted_at is None and not is_discovered(svc.source)
                )
                if earlier is not None or live_elsewhere:
                    counts["conflicts"] += 1
                    where = f"{earlier.type} {earlier.ref}" if earlier else _owner(svc)
                    log.error(
                        "discovery_conflict",
                        file=read.ref,
                        service=cfg.name,
                        error=f"{read.ref}: service {cfg.name!r} is already defined by {where}; "
                        "this entry is ignored",
                    )
                    continue
                claimed[cfg.name] = read
                row_names: dict[str, list[str]] = {}  # kept only if the row is stored
                try:
                    with s.begin_nested():  # one bad row must not stop the others
                        added = _upsert(s, svc, cfg, read, now, counts, row_names)
                except sa.exc.SQLAlchemyError as exc:
                    log.error(
                        "discovery_error",
                        file=read.ref,
                        service=cfg.name,
                        error=f"{read.ref}: service {cfg.name!r} could not be stored: "
                        f"{type(exc.orig if hasattr(exc, 'orig') else exc).__name__}",
                    )
                    read.problems.append(f"{read.ref}: service {cfg.name!r} not stored")
                    continue
                for key, labels in row_names.items():
                    names.setdefault(key, []).extend(labels)
                if added is not None:
                    existing[cfg.name] = added
                    log.info("discovered_service_added", service=cfg.name, file=read.ref)
        by_ref = {(r.type, r.ref): r for r in reads}
        for name, svc in existing.items():
            if not archive:
                break
            if not is_discovered(svc.source) or svc.deleted_at is not None or name in claimed:
                continue
            last = by_ref.get((svc.source, svc.source_ref or ""))
            if last is not None and not last.complete:
                continue  # bad input: keep what it listed before
            svc.deleted_at = now  # archived: it and its checks stop, their history stays
            svc.enabled = False
            svc.updated_at = now
            s.add(svc)
            for chk in checks_by_name(s, svc.id).values():
                if chk.deleted_at is None:
                    retire(chk, now)
                    s.add(chk)
            tally(counts, names, "services_archived", name)
            log.info("discovered_service_archived", service=name, file=svc.source_ref)
        if names:
            # an http_sd URL may carry a credential: the audit log keeps it redacted
            refs = ", ".join(sorted({redact_text(f"{r.type} {r.ref}") for r in reads}))
            s.add(sync_event(names, refs[:255] or "discovery", now, "discovery"))
    return counts
