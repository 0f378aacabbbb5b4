"""Reading the sources: files (globs, directory trees, re-parsed only when changed) and
``http_sd`` endpoints (through the prober, so the address policy applies).

Each file or endpoint becomes one :class:`SourceRead`: the services it lists and the
problems found in it, each naming the file or URL. A read with problems is *incomplete*:
the sync then archives nothing that came from it (a half-written file or a broken
annotation must never archive a service).
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import yaml

from auditor.config import AuditorSettings, ServiceConfig
from auditor.config.discovery import DiscoveryModel
from auditor.discovery.build import build_service
from auditor.discovery.parse import Raw, backstage_entities, target_groups
from auditor.probe.http import HttpProber

log = structlog.get_logger("auditor.discovery")

#: the largest file or endpoint answer read (a target list, a catalog file)
MAX_BYTES = 16 * 1024 * 1024
#: file names a Backstage directory tree is searched for
CATALOG_NAMES = ("catalog-info.yaml", "catalog-info.yml")
_GLOB = frozenset("*?[")


@dataclass
class SourceRead:
    """What one file or endpoint lists now."""

    type: str
    ref: str  # the file path or the endpoint URL
    services: list[ServiceConfig] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems


def source_files(source: DiscoveryModel, missing: list[str] | None = None) -> list[str]:
    """The files a source's ``path`` entries name now: globs expanded (``**`` recursive),
    directories searched (Backstage: every ``catalog-info.yaml`` below; file_sd: the
    ``.json``/``.yml``/``.yaml`` files in it). A named file that is gone is not listed
    (its services are archived); it goes to ``missing``."""
    out: list[str] = []
    for pattern in source.path:
        if _GLOB & set(pattern):
            out.extend(p for p in sorted(glob.glob(pattern, recursive=True)) if os.path.isfile(p))
        elif os.path.isdir(pattern):
            root = Path(pattern)
            if source.type == "backstage":
                found = [p for n in CATALOG_NAMES for p in root.rglob(n)]
            else:
                found = [p for p in root.iterdir() if p.suffix in (".json", ".yml", ".yaml")]
            out.extend(str(p) for p in sorted(found) if p.is_file())
        elif os.path.isfile(pattern):
            out.append(pattern)
        elif missing is not None:
            missing.append(pattern)
    return list(dict.fromkeys(out))


def _documents(text: str, path: str, many: bool) -> list[Any]:
    if path.endswith(".json"):
        return [json.loads(text)]
    if many:
        return list(yaml.safe_load_all(text))
    return [yaml.safe_load(text)]


def services_of(
    read: SourceRead,
    found: list[tuple[str, Raw]],
    settings: AuditorSettings,
    allowlist: Collection[str],
) -> SourceRead:
    """Validate every found service into ``read`` (a repeated name is a problem)."""
    names: set[str] = set()
    for what, raw in found:
        service, problems = build_service(raw, settings, allowlist, what)
        read.problems.extend(problems)
        if service is None:
            continue
        if service.name in names:
            read.problems.append(f"{what}: service {service.name!r} is listed twice")
            continue
        names.add(service.name)
        read.services.append(service)
    return read


def read_file(
    path: str, source: DiscoveryModel, settings: AuditorSettings, allowlist: Collection[str]
) -> SourceRead:
    """Parse one file_sd or Backstage file; every problem names the file."""
    read = SourceRead(source.type, path)
    try:
        if os.path.getsize(path) > MAX_BYTES:
            read.problems.append(f"{path}: larger than {MAX_BYTES} bytes; not read")
            return read
        text = Path(path).read_text(encoding="utf-8")
        docs = _documents(text, path, many=source.type == "backstage")
    except OSError as exc:
        read.problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        return read
    except UnicodeDecodeError:
        read.problems.append(f"{path}: not UTF-8 text")
        return read
    except json.JSONDecodeError as exc:
        read.problems.append(f"{path}: not valid JSON: {exc}")
        return read
    except yaml.YAMLError as exc:
        read.problems.append(f"{path}: not valid YAML: {' '.join(str(exc).split())}")
        return read
    if source.type == "backstage":
        found, problems = backstage_entities(docs, source, path)
    else:
        found, problems = target_groups(docs[0], source, path)
    read.problems.extend(problems)
    return services_of(read, found, settings, allowlist)


async def read_http(
    source: DiscoveryModel,
    prober: HttpProber,
    settings: AuditorSettings,
    allowlist: Collection[str],
) -> SourceRead:
    """Fetch an ``http_sd`` endpoint (Prometheus HTTP SD: 200, a JSON list of target groups)."""
    url = str(source.url)
    read = SourceRead("http_sd", url)
    headers = {
        "Accept": "application/json",
        "User-Agent": "deployment-auditor http_sd",
        "X-Prometheus-Refresh-Interval-Seconds": str(int(source.refresh_s)),
    }
    try:
        result = await asyncio.wait_for(
            prober.fetch(url, headers=headers, timeout=source.timeout, body_cap=MAX_BYTES),
            timeout=source.timeout + 1.0,
        )
    except TimeoutError:
        read.problems.append(f"{url}: no answer within {source.timeout:g}s")
        return read
    except Exception as exc:
        read.problems.append(f"{url}: fetch failed: {getattr(exc, 'message', None) or exc!r}")
        return read
    if result.status != 200:
        read.problems.append(f"{url}: answered HTTP {result.status}, expected 200")
        return read
    try:
        data = json.loads(result.body)
    except ValueError as exc:
        read.problems.append(f"{url}: not valid JSON: {exc}")
        return read
    found, problems = target_groups(data, source, url)
    read.problems.extend(problems)
    return services_of(read, found, settings, allowlist)
