"""Services found, not typed in (issue #22): Prometheus ``file_sd`` / ``http_sd`` and
Backstage catalogs, kept in sync with the store.

- :mod:`~auditor.discovery.parse` — target groups and Backstage entities -> service tables (pure);
- :mod:`~auditor.discovery.build` — validated by the config file's rules and the API tier;
- :mod:`~auditor.discovery.readers` — files (globs, trees, mtime) and endpoints (the prober);
- :mod:`~auditor.discovery.sync` — added, changed, archived in one transaction;
- :mod:`~auditor.discovery.loop` — the daemon's job: at start, then as sources are due.
"""

from __future__ import annotations

from auditor.discovery.loop import Discoverer, discover_once
from auditor.discovery.readers import SourceRead
from auditor.discovery.sync import sync_discovered

__all__ = ["Discoverer", "SourceRead", "discover_once", "sync_discovered"]
