"""The expected state a release publishes: ids in order, optional checksums and heads.

Accepted manifest files (what a CI job can write per release):
- text: one id per line, optionally followed by whitespace and a checksum; ``#`` comments;
  ``[X]``/``[ ]`` prefixes of ``manage.py showmigrations --plan`` are stripped;
- JSON: a list of ids, or ``{"ids"|"migrations": [id | {"id", "checksum"}], "heads": [...],
  "checksums": {id: checksum}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_PLAN_PREFIX = re.compile(r"^\[[ xX]\]\s+")


@dataclass
class Expectation:
    """Expected ids (ordered, oldest first), heads, and checksums by id."""

    source: str
    ids: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)

    def to_facts(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ids": self.ids,
            "heads": self.heads,
            "checksums": self.checksums,
        }


def parse_manifest(text: str) -> Expectation:
    """Parse a manifest's text; ValueError with a reason when it is not one of the shapes."""
    stripped = text.strip()
    if stripped.startswith(("[", "{")) and not _PLAN_PREFIX.match(stripped):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"manifest is not valid JSON: {exc.msg} (line {exc.lineno})") from None
        return _from_json(data)
    exp = Expectation("manifest")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        line = _PLAN_PREFIX.sub("", line)
        parts = line.split()
        exp.ids.append(parts[0])
        if len(parts) > 1:
            exp.checksums[parts[0]] = parts[1]
    return exp


def _from_json(data: Any) -> Expectation:
    exp = Expectation("manifest")
    if isinstance(data, dict):
        items = data.get("ids", data.get("migrations", []))
        heads = data.get("heads", data.get("expected_head", []))
        exp.heads = [str(h) for h in ([heads] if isinstance(heads, str) else heads or [])]
        for key, value in (data.get("checksums") or {}).items():
            exp.checksums[str(key)] = str(value)
    elif isinstance(data, list):
        items = data
    else:
        raise ValueError("manifest JSON must be a list of ids or an object with 'ids'")
    if not isinstance(items, list):
        raise ValueError("manifest 'ids' must be a list")
    for item in items:
        if isinstance(item, dict):
            if "id" not in item:
                raise ValueError("manifest entries that are objects need an 'id'")
            exp.ids.append(str(item["id"]))
            if item.get("checksum") is not None:
                exp.checksums[str(item["id"])] = str(item["checksum"])
        else:
            exp.ids.append(str(item))
    return exp
