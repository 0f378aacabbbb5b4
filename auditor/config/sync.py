"""Config sync: make the store's services and checks match the configuration file.

It sits above the store (it knows both the config types and the rows they become); the
``apply_*`` helpers are shared with the API and the dashboard, which define checks too.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import Any

from sqlmodel import Session

from auditor.config import CheckConfig, Config, ServiceConfig
from auditor.store.audit_log import Actor, AuditScope, build_event
from auditor.store.audit_models import AuditEvent
from auditor.store.catalog import add_check, checks_by_name, disable, services_by_name
from auditor.store.db import CONFIG_SYNC_LOCK_KEY, Database, hold_exclusive
from auditor.store.models import Check, Service, utcnow


def sync_config(
    db: Database, config: Config, now: datetime | None = None, *, disable_missing: bool = True
) -> dict[str, int]:
    """Make the store match the file: add, update, and disable (never delete) what is gone.

    ``disable_missing=False`` only adds and updates: one-shot commands (``audit``,
    ``gate --fresh``) may run with a cut-down file and must not disable the rest.
    """
    now = now or utcnow()
    counts = {
        "services_added": 0,
        "services_updated": 0,
        "services_disabled": 0,
        "checks_added": 0,
        "checks_updated": 0,
        "checks_disabled": 0,
    }
    names: dict[str, list[str]] = {}
    with db.write() as s:
        # nodes started together sync the same file: one at a time, each seeing the last's rows
        hold_exclusive(s, CONFIG_SYNC_LOCK_KEY)
        existing = services_by_name(s)
        wanted = {svc.name for svc in config.services}
        for svc_cfg in config.services:
            svc = existing.get(svc_cfg.name)
            if svc is None:
                svc = Service(name=svc_cfg.name, url=svc_cfg.url, source="config")
                apply_service(svc, svc_cfg, now)
                s.add(svc)
                s.flush()
                tally(counts, names, "services_added", svc.name)
            else:
                if svc.source != "config" and svc.deleted_at is None:
                    # a service created through the API keeps its own definition
                    continue
                if apply_service(svc, svc_cfg, now):
                    tally(counts, names, "services_updated", svc.name)
                s.add(svc)
            sync_checks(s, svc, svc_cfg, now, counts, disable_missing, names=names)
        for name, svc in existing.items():
            if not disable_missing:
                break
            if name not in wanted and svc.source == "config" and disable(s, svc, now):
                tally(counts, names, "services_disabled", name)
                for chk in checks_by_name(s, svc.id).values():
                    if disable(s, chk, now):
                        tally(counts, names, "checks_disabled", f"{name}/{chk.name}")
        if names:
            s.add(sync_event(names, config.path, now))
    return counts


def tally(counts: dict[str, int], names: dict[str, list[str]] | None, key: str, label: str) -> None:
    """Count one change under ``key`` and, when names are kept, say which row it was."""
    counts[key] += 1
    if names is not None:
        names.setdefault(key, []).append(label)


def sync_event(
    names: dict[str, list[str]], path: str | None, now: datetime, kind: str = "config"
) -> AuditEvent:
    """The audit log's record of a sync that changed something: the file (``config``) or the
    discovery sources (``discovery``) are the actor, and the diff names what was added,
    updated, disabled or archived (written in the sync's own transaction)."""
    scope = AuditScope(
        action=f"{kind}.sync",
        target_type=kind,
        actor=lambda: Actor(kind, None, path or "configuration file"),
        target_name=path or "",
        changes={key: [None, sorted(value)[:500]] for key, value in names.items()},
    )
    return build_event(scope, at=now)


def apply_service(
    svc: Service,
    cfg: ServiceConfig,
    now: datetime,
    source: str = "config",
    source_ref: str | None = None,
) -> bool:
    """Copy a service definition onto its row (config sync and discovery alone);
    True when anything changed. An archived row comes back."""
    values = {
        "url": cfg.url,
        "environment": cfg.environment,
        "owner": cfg.owner,
        "tags": list(cfg.tags),
        "profile": cfg.profile,
        "public": cfg.public,
        "description": cfg.description,
        "enabled": cfg.enabled,
        "deleted_at": None,
        "source": source,
        "source_ref": source_ref,
    }
    changed = False
    for key, value in values.items():
        if getattr(svc, key) != value:
            setattr(svc, key, value)
            changed = True
    if changed:
        svc.updated_at = now
    return changed


def sync_checks(
    s: Session,
    svc: Service,
    cfg: ServiceConfig,
    now: datetime,
    counts: dict[str, int],
    disable_missing: bool = True,
    source: str = "config",
    names: dict[str, list[str]] | None = None,
) -> None:
    """Make ``svc``'s checks match ``cfg``; ``counts`` (and ``names``, when given: which
    ``service/check`` went where) say what changed."""
    existing = checks_by_name(s, svc.id)
    wanted = {c.name for c in cfg.checks}
    for chk_cfg in cfg.checks:
        digest = check_hash(chk_cfg)
        chk = existing.get(chk_cfg.name)
        enabled = chk_cfg.common.enabled and cfg.enabled
        if chk is None:
            chk = Check(service_id=svc.id, name=chk_cfg.name, kind=chk_cfg.kind, source=source)
            apply_check_config(chk, chk_cfg, enabled=enabled, now=now, source=source)
            add_check(s, chk, now)
            tally(counts, names, "checks_added", f"{svc.name}/{chk.name}")
            continue
        if (
            chk.config_hash != digest
            or chk.enabled != enabled
            or chk.deleted_at is not None
            or chk.source != source
        ):
            if apply_check_config(chk, chk_cfg, enabled=enabled, now=now, source=source):
                chk.next_run_at = now
            s.add(chk)
            tally(counts, names, "checks_updated", f"{svc.name}/{chk.name}")
    for name, chk in existing.items():
        if not disable_missing:
            break
        if name not in wanted and chk.source == source and disable(s, chk, now):
            tally(counts, names, "checks_disabled", f"{svc.name}/{chk.name}")


def check_hash(check: CheckConfig) -> str:
    """A digest of a check's definition: sync rewrites a row only when it changed."""
    common = check.common.model_dump(mode="json")
    data: Any = {"common": common, "options": check.raw_options}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def apply_check_config(
    chk: Check,
    cfg: CheckConfig,
    *,
    enabled: bool,
    now: datetime,
    source: str = "config",
    options: dict[str, Any] | None = None,
) -> bool:
    """Copy a validated check definition onto its row (config sync, API and dashboard alike).

    ``options`` overrides the stored options (the API keeps secrets apart, encrypted).
    Returns True when the cadence or enabling changed, i.e. the check should be due now.
    """
    before = (chk.interval_s, chk.schedule, chk.enabled)
    common = cfg.common
    chk.name = cfg.name
    chk.kind = cfg.kind
    chk.options = dict(cfg.raw_options) if options is None else options
    chk.interval_s = cfg.interval
    chk.schedule = cfg.schedule
    chk.jitter_s = common.jitter
    chk.timeout_s = cfg.timeout
    chk.severity = common.severity
    chk.level = common.level
    chk.failure_threshold = common.failure_threshold
    chk.success_threshold = common.success_threshold
    chk.consecutive_error_limit = common.consecutive_error_limit
    chk.blocking = common.blocking
    chk.locations = list(cfg.locations)
    chk.quorum = cfg.quorum
    chk.description = common.description
    chk.enabled = enabled
    chk.source = source
    chk.config_hash = check_hash(cfg)
    chk.deleted_at = None
    chk.updated_at = now
    if cfg.kind == "backups" and chk.heartbeat_token is None:
        chk.heartbeat_token = secrets.token_urlsafe(24)
    return before != (chk.interval_s, chk.schedule, chk.enabled)
