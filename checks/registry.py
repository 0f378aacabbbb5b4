"""Explicit registry of check kinds (blackbox's ``Probers`` map): kind name -> class."""

from __future__ import annotations

import importlib

from checks.base import Check

#: kind -> "module:Class"; imported lazily so a broken optional kind cannot stop the daemon.
_KINDS: dict[str, str] = {
    "health": "checks.health:HealthCheck",
    "tls": "checks.tls:TlsCheck",
    "headers": "checks.headers:HeadersCheck",
    "redirect": "checks.redirect:RedirectCheck",
    "exposure": "checks.exposure:ExposureCheck",
    "migrations": "checks.migrations:MigrationsCheck",
    "backups": "checks.backups:BackupsCheck",
    "env": "checks.env:EnvCheck",
    "attestation": "checks.attestation:AttestationCheck",
    "schema": "checks.schema:SchemaCheck",
    "api": "checks.api:ApiCheck",
    "evidence": "checks.evidence:EvidenceCheck",
    "monitoring": "checks.monitoring:MonitoringCheck",
    "logging": "checks.logs:LoggingCheck",
}

_cache: dict[str, Check] = {}  # type: ignore[type-arg]


def known_kinds() -> list[str]:
    """Kinds whose module is present (implemented) in this build."""
    out = []
    for kind in _KINDS:
        try:
            get_check(kind)
        except LookupError:
            continue
        out.append(kind)
    return out


def get_check(kind: str) -> Check:  # type: ignore[type-arg]
    """The check instance for ``kind``; LookupError when unknown or not implemented."""
    if kind in _cache:
        return _cache[kind]
    target = _KINDS.get(kind)
    if target is None:
        raise LookupError(f"unknown check kind {kind!r} (known: {', '.join(sorted(_KINDS))})")
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise LookupError(f"check kind {kind!r} is not implemented in this build") from exc
        raise
    instance = getattr(module, class_name)()
    _cache[kind] = instance
    return instance
