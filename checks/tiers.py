"""Trust tiers (DESIGN §9): what a check made through the API or the dashboard may use.

Checks from the config file are written by whoever deploys the daemon and may use every
option. Checks created or changed through the REST API or the dashboard are data, not
configuration: they get a restricted schema — nothing that runs a command, names a file,
a PID or an environment variable outside ``[security] api_env_allowlist``, or turns the
daemon into an HTTP proxy (methods other than GET/HEAD, a request body, a ``Host``
override), and every number stays within its documented range.

The policy is data (the tables below) plus one pure function, :func:`api_tier_problems`,
used when such a check is written (API, dashboard) and again each time it runs (rows
written before the policy, or after the allow-list changed, are refused, not executed).
It reads only the given mapping — never a file — so a refusal says nothing about the host.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from pydantic import ValidationError

from checks.registry import get_check

#: the sentence every refusal ends with
CONFIG_ONLY_HINT = "is only allowed in the config file (see the README's security model)"
#: most response-body bytes an API-tier check keeps in its stored facts
API_BODY_KEEP = 4096
API_METHODS = ("GET", "HEAD")
#: request headers that re-route a request (virtual host, proxy and rewrite overrides)
ROUTING_HEADERS = frozenset(
    {"host", "x-forwarded-host", "forwarded", "x-original-url", "x-rewrite-url", ":authority"}
)
DAY = 86400.0

_HTTP = frozenset({"ca_file"})

#: kind -> options only the config file may set (file-system paths, globs, commands)
CONFIG_ONLY: dict[str, frozenset[str]] = {
    "health": _HTTP | {"body"},
    "headers": _HTTP,
    "redirect": _HTTP,
    "exposure": _HTTP,
    "tls": frozenset({"ca_file"}),
    "migrations": frozenset({"manifest"}),
    "backups": frozenset({"path", "pattern", "command"}),
    "env": frozenset({"manifest", "ca_file"}),
    "attestation": frozenset(),
    "evidence": frozenset({"ca_file"}),
    "monitoring": frozenset(),
    # a log store's credentials come from the daemon's environment: config file only
    "logging": frozenset({"token_env"}),
    # the whole kind: its required DSN names a database host (config-file tier only)
    "schema": frozenset({"dsn_env"}),
    "api": frozenset({"ca_file", "spec_file", "rules_file", "probe_token_env"}),
}

#: kind -> field -> (lowest, highest) on the API tier, in the validated unit (seconds, bytes)
RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "health": {
        "max_latency": (0.001, 600.0),
        "max_redirects": (0, 50),
        "body_cap": (1, 1024 * 1024),
        "body_keep": (0, API_BODY_KEEP),
    },
    "headers": {"http_port": (0, 65535)},
    "redirect": {"http_port": (1, 65535)},
    "exposure": {"rate_limit_burst": (0, 50)},
    "tls": {
        "warn_days": (0, 3650),
        "fail_days": (0, 3650),
        "max_validity_days": (1, 3650),
        "warn_fraction": (0, 1),
        "fail_fraction": (0, 1),
        "port": (1, 65535),
    },
    "migrations": {"grace": (0, 30 * DAY), "lock_max_age": (0, 30 * DAY)},
    "backups": {
        "max_age": (1, 366 * DAY),
        "min_size": (0, 10**15),
        "max_shrink": (0, 1),
        "period": (1, 366 * DAY),
        "grace": (0, 366 * DAY),
        "restore_max_age": (1, 3 * 366 * DAY),
    },
    "env": {},
    "attestation": {"max_age": (1, 3 * 366 * DAY)},
    "evidence": {"max_age": (1, 3 * 366 * DAY)},
}

#: kind -> options an API-tier check gets when it does not set them (applied when it runs)
API_DEFAULTS: dict[str, dict[str, Any]] = {"health": {"body_keep": API_BODY_KEEP}}

Problem = tuple[str, str]
ValueRule = Callable[[str, Any, Collection[str]], list[Problem]]


def _method(field: str, value: Any, _allow: Collection[str]) -> list[Problem]:
    if isinstance(value, str) and value.strip().upper() in API_METHODS:
        return []
    return [(field, f"method {value!r} {CONFIG_ONLY_HINT}; the API allows GET and HEAD")]


def _headers(field: str, value: Any, _allow: Collection[str]) -> list[Problem]:
    if not isinstance(value, Mapping):
        return []
    return [
        (f"{field}.{name}", f"the {name} header (a routing override) {CONFIG_ONLY_HINT}")
        for name in value
        if str(name).strip().lower() in ROUTING_HEADERS
    ]


def _env_source(field: str, value: Any, _allow: Collection[str]) -> list[Problem]:
    kind = str(value).partition(":")[0] if isinstance(value, str) else ""
    if kind in ("dotenv", "process"):
        what = "a dotenv file path" if kind == "dotenv" else "a process id"
        return [(field, f"source {kind}: ({what}) {CONFIG_ONLY_HINT}; the API allows http:PATH")]
    return []


def env_name_problem(field: str, name: Any, allow: Collection[str]) -> list[Problem]:
    """An ``*_env`` option names a variable of the daemon's environment: only allow-listed ones."""
    if not isinstance(name, str):
        return []
    if name.upper().startswith("AUDITOR_") or name not in allow:
        return [
            (
                field,
                f"environment variable {name!r} is not in [security] api_env_allowlist; "
                f"any other name {CONFIG_ONLY_HINT}",
            )
        ]
    return []


#: kind -> field -> rule over the raw value
VALUE_RULES: dict[str, dict[str, ValueRule]] = {
    "health": {"method": _method, "headers": _headers},
    "headers": {"headers": _headers},
    "redirect": {"headers": _headers},
    "exposure": {"headers": _headers},
    "env": {"source": _env_source, "headers": _headers},
}

_LOCAL_DSN = re.compile(r"^\s*sqlite", re.IGNORECASE)


def _ranges(kind: str, options: Mapping[str, Any]) -> list[Problem]:
    """Numbers outside the API tier's range, read from the kind's validated options (so
    ``"5m"`` and ``"1MB"`` count in seconds and bytes); invalid options are left to the
    kind's own validation."""
    table = RANGES.get(kind, {})
    given = [name for name in table if options.get(name) is not None]
    if not given:
        return []
    try:
        model = get_check(kind).Options.model_validate(dict(options))
    except (ValidationError, LookupError):
        return []
    out: list[Problem] = []
    for name in given:
        low, high = table[name]
        value = getattr(model, name, None)
        if isinstance(value, int | float) and not low <= value <= high:
            out.append(
                (
                    f"options.{name}",
                    f"must be between {low:g} and {high:g}; a value outside that range "
                    f"{CONFIG_ONLY_HINT}",
                )
            )
    return out


def api_tier_problems(
    kind: str,
    options: Mapping[str, Any],
    env_allowlist: Collection[str],
    environ: Mapping[str, str] | None = None,
) -> list[Problem]:
    """``(field, message)`` for every option an API-tier check may not use; empty when allowed.

    ``environ``, when given (at run time), also refuses an allow-listed variable that holds a
    SQLite DSN: a local database file — the auditor's own included — is configuration.
    """
    out: list[Problem] = []
    for name in sorted(CONFIG_ONLY.get(kind, frozenset())):
        if options.get(name) is not None:
            out.append((f"options.{name}", f"{name} {CONFIG_ONLY_HINT}"))
    rules = VALUE_RULES.get(kind, {})
    for name, value in options.items():
        field = f"options.{name}"
        if name in rules and value is not None:
            out.extend(rules[name](field, value, env_allowlist))
        if name.endswith("_env") and value is not None:
            found = env_name_problem(field, value, env_allowlist)
            out.extend(found)
            held = environ.get(value) if environ is not None and isinstance(value, str) else None
            if not found and held is not None and _LOCAL_DSN.match(held):
                out.append((field, f"a SQLite DSN (a local file) {CONFIG_ONLY_HINT}"))
    out.extend(_ranges(kind, options))
    return out


def api_tier_options(kind: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options an API-tier check runs with: its own, over the tier's defaults."""
    return {**API_DEFAULTS.get(kind, {}), **options}


def describe_config_only() -> dict[str, list[str]]:
    """kind -> the options only the config file may set (for the OpenAPI document and forms)."""
    out = {kind: sorted(fields) for kind, fields in CONFIG_ONLY.items()}
    for kind, rules in VALUE_RULES.items():
        if "source" in rules:
            out[kind].append("source dotenv:PATH / process:PID")
    return out
