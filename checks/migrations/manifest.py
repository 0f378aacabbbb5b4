"""The expected state a release publishes: ids in order, optional checksums and heads.

Accepted manifest files (what a CI job can write per release):
- text: one id per line, optionally followed by whitespace and a checksum; ``#`` comments;
  ``[X]``/``[ ]`` prefixes of ``manage.py showmigrations --plan`` are stripped;
- ``sqitch plan --no-headers --format oneline``: ``<change id> deploy <name> [@tag…]`` lines
  (ids are sqitch change ids: a reworked change has a new one);
- ``alembic history``: ``<down>[, <down>…] -> <rev> [(head)…], <message>`` lines, read as the
  revision graph (a branched history has several heads);
- JSON: a list of ids, or ``{"ids"|"migrations": [id | {"id", "checksum"}], "heads": [...],
  "checksums": {id: checksum}, "graph": {rev: [down revs]}, "replaces": {squash: [ids]}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_PLAN_PREFIX = re.compile(r"^\[[ xX]\]\s+")
#: the totals ``dbmate status`` prints after its ``[X] file`` lines
_STATUS_TOTAL = re.compile(r"^(?:Applied|Pending): \d+$")
_SQITCH_LINE = re.compile(r"^(?P<id>[0-9a-f]{6,40}) (?P<op>deploy|revert) (?P<name>\S+)(?: @\S+)*$")
_ALEMBIC_LINE = re.compile(
    r"^(?P<down>[^\s,].*?) -> (?P<rev>[0-9A-Za-z_]+)(?: \([a-z]+\))*(?:, .*)?$"
)


@dataclass
class Expectation:
    """Expected ids (ordered, oldest first), heads, and checksums by id."""

    source: str
    ids: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)
    #: revision -> its down revisions (Alembic): ancestry decides what a head includes
    graph: dict[str, list[str]] = field(default_factory=dict)
    #: squashed id -> the ids it replaces (Django ``replaces``)
    replaces: dict[str, list[str]] = field(default_factory=dict)
    #: change id -> change name, for messages (sqitch)
    names: dict[str, str] = field(default_factory=dict)

    def to_facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {
            "source": self.source,
            "ids": self.ids,
            "heads": self.heads,
            "checksums": self.checksums,
        }
        for key in ("graph", "replaces", "names"):
            if getattr(self, key):
                facts[key] = getattr(self, key)
        return facts


def parse_manifest(text: str) -> Expectation:
    """Parse a manifest's text; ValueError with a reason when it is not one of the shapes."""
    stripped = text.strip()
    if stripped.startswith(("[", "{")) and not _PLAN_PREFIX.match(stripped):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ValueError(f"manifest is not valid JSON: {exc.msg} (line {exc.lineno})") from None
        return _from_json(data)
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if lines and all(_SQITCH_LINE.match(ln) for ln in lines):
        return _from_sqitch_plan(lines)
    if lines and all(_ALEMBIC_LINE.match(ln) for ln in lines):
        return _from_alembic_history(lines)
    exp = Expectation("manifest")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if _STATUS_TOTAL.match(line):
            continue
        line = _PLAN_PREFIX.sub("", line)
        parts = line.split()
        exp.ids.append(parts[0])
        if len(parts) > 1:
            exp.checksums[parts[0]] = parts[1]
    return exp


def _from_sqitch_plan(lines: list[str]) -> Expectation:
    """The plan's changes in order; a ``revert`` line (``--reverse``) is not a target."""
    exp = Expectation("manifest")
    for line in lines:
        m = _SQITCH_LINE.match(line)
        if m is not None and m["op"] == "deploy":
            exp.ids.append(m["id"])
            exp.names[m["id"]] = m["name"]
    return exp


def _from_alembic_history(lines: list[str]) -> Expectation:
    """``alembic history`` (newest first) as a graph; its ids oldest first; heads = leaves."""
    exp = Expectation("manifest")
    for line in lines:
        m = _ALEMBIC_LINE.match(line)
        if m is None:
            continue
        downs = [d.strip() for d in m["down"].split(",")]
        exp.graph[m["rev"]] = [d for d in downs if d and d != "<base>"]
    exp.ids = list(reversed(list(exp.graph)))
    parents = {d for downs in exp.graph.values() for d in downs}
    exp.heads = [rev for rev in exp.ids if rev not in parents]
    return exp


def _from_json(data: Any) -> Expectation:
    exp = Expectation("manifest")
    if isinstance(data, dict):
        items = data.get("ids", data.get("migrations", []))
        heads = data.get("heads", data.get("expected_head", []))
        exp.heads = [str(h) for h in ([heads] if isinstance(heads, str) else heads or [])]
        for key, value in (data.get("checksums") or {}).items():
            exp.checksums[str(key)] = str(value)
        for field_name in ("graph", "replaces"):
            mapping = data.get(field_name) or {}
            if not isinstance(mapping, dict) or not all(
                isinstance(v, list) for v in mapping.values()
            ):
                raise ValueError(f"manifest '{field_name}' must map ids to lists of ids")
            getattr(exp, field_name).update(
                {str(k): [str(x) for x in v] for k, v in mapping.items()}
            )
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
