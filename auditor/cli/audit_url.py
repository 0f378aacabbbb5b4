"""``auditor audit URL``: the production checklist's machine checks against one URL, once.

For trying the auditor on one's own service before writing a config file. The service
lives in a throw-away SQLite store, so nothing is scheduled or kept. The profile's manual
items (evidence pushed from CI, attestations as its fallback) are left out: nobody can have
pushed or signed them for an ad-hoc URL, and they would fail every run; ``env``, ``migrations`` and ``backups`` need keys only a config
file can give.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from auditor.config import Config, ConfigError, parse_config
from auditor.config.profiles import PRODUCTION_PROFILE

#: the kinds that take ``ca_file`` (the TLS handshake or an HTTPS request)
CA_FILE_KINDS = frozenset({"tls", "headers", "redirect", "health", "exposure"})


class BadTarget(ValueError):
    """The URL (or an option with it) cannot be audited; the message says why."""


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an auditable service URL, or None."""
    if not url or any(ch.isspace() for ch in url):
        return "must not be empty or contain spaces"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return 'must start with http:// or https://, e.g. "https://api.example.com"'
    if not parts.hostname:
        return "has no host name"
    try:
        parts.port  # noqa: B018 - raises for a port out of 0-65535 or not a number
    except ValueError:
        return "has an invalid port (1-65535)"
    if parts.port == 0:
        return "has an invalid port (1-65535)"
    return None


def service_name(url: str) -> str:
    """A slug for the host (``api.example.com``, ``127.0.0.1``, ``--1`` for ``[::1]``)."""
    host = (urlsplit(url).hostname or "service").lower()
    slug = re.sub(r"[^a-z0-9._-]+", "-", host).strip("-") or "service"
    return slug[:63]


def machine_checks(ca_file: str | None) -> list[dict[str, Any]]:
    """The production profile without its attestations, each with ``ca_file`` where taken."""
    checks = []
    for default in PRODUCTION_PROFILE:
        if default["kind"] in ("attestation", "evidence"):
            continue
        check = dict(default)
        if ca_file and check["kind"] in CA_FILE_KINDS:
            check["ca_file"] = ca_file
        checks.append(check)
    return checks


def url_config(
    url: str, ca_file: str | None, database_url: str, environ: Mapping[str, str]
) -> Config:
    """The configuration of a one-off audit; :class:`BadTarget` naming what is wrong."""
    problem = url_problem(url)
    if problem:
        raise BadTarget(f"URL {url!r} {problem}")
    # AUDITOR_* settings apply (the address policy, timeouts), but never the real database
    env = {k: v for k, v in environ.items() if k != "AUDITOR_DATABASE_URL"}
    document = {
        "auditor": {"database_url": database_url},
        "services": [
            {
                "name": service_name(url),
                "url": url,
                "environment": "production",
                "checks": machine_checks(ca_file),
            }
        ],
    }
    try:
        return parse_config(document, env)
    except ConfigError as exc:
        lines = [
            p.replace("services[0].url", "URL").replace("services[0].checks", "--ca-file/checks")
            for p in exc.problems
        ]
        raise BadTarget("; ".join(lines)) from exc


def describe(url: str, ca_file: str | None) -> str:
    """One line (for stderr) on what the one-off audit covers and what it leaves out."""
    kinds = ", ".join(
        f"{c.get('name') or c['kind']}" + (f" ({c['path']})" if "path" in c else "")
        for c in machine_checks(None)
    )
    trust = f", trusting {ca_file}" if ca_file else ""
    return (
        f"auditing {url} with the production profile's machine checks: {kinds}{trust}. "
        "Not covered without a config file: the checklist items proven by CI evidence "
        "or signed off (evidence, attestations), "
        "env, migrations and backups."
    )
