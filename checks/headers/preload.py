"""HSTS preload list and registrable-domain lookups, from bundled data (no network).

The Observatory ships Chromium's preload list and the Public Suffix List; we use the
``hstspreload`` and ``publicsuffixlist`` packages when installed. Without them, nothing
counts as preloaded and the registrable domain is the last two labels, which only
matters for multi-label suffixes such as ``co.uk``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache
from typing import Any

PreloadLookup = Callable[[str], bool]


def _no_preload(host: str) -> bool:
    return False


@lru_cache(maxsize=1)
def _preload_impl() -> PreloadLookup:
    try:
        import hstspreload
    except ImportError:  # optional: see the module docstring
        return _no_preload
    lookup: PreloadLookup = hstspreload.in_hsts_preload
    return lookup


def is_preloaded(host: str) -> bool:
    """Host (or a parent with includeSubDomains) is force-https in the preload list."""
    host = host.strip().rstrip(".").lower()
    if not host or _is_ip(host):
        return False
    try:
        return bool(_preload_impl()(host))
    except Exception:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1)
def _psl() -> Any:
    try:
        from publicsuffixlist import PublicSuffixList
    except ImportError:
        return None
    return PublicSuffixList(only_icann=True)


@lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str | None:
    """tldts' ``domain``: the ICANN registrable domain; None for IPs and bare suffixes."""
    host = host.strip().rstrip(".").lower()
    if not host or _is_ip(host):
        return None
    psl = _psl()
    if psl is not None:
        result = psl.privatesuffix(host)
        return str(result) if result else None
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else None
