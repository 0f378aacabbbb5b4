"""What each tool counts as "the same migration", for the comparison with the release.

Comparing ids as a set of names is wrong for three tools (issue #18):

* **Alembic** keeps only the current head(s); a head includes exactly its ancestors in the
  revision graph (``alembic history``), not every revision listed before it.
* **sqitch** identifies a change by its change id: a reworked change keeps its name but gets a
  new id, so the same name deployed once while the plan holds it twice is still pending.
* **Django** squashed migrations (``replaces``): the squash counts as applied when every
  migration it replaces is applied, and the replaced ones are not unknown ("ahead").

Pure functions of facts dictionaries; no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_HEX_ID = re.compile(r"^[0-9a-f]{6,40}$")
_DJANGO_SQUASH = re.compile(r"^(?P<app>[^.]+)\.(?P<first>\d+)_squashed_(?P<last>\d+)(?:_|$)")
_DJANGO_NUMBER = re.compile(r"^(?P<app>[^.]+)\.(?P<number>\d+)(?:_|$)")


def ancestry(graph: Mapping[str, Sequence[str]], pointers: Iterable[str]) -> set[str]:
    """Every revision a set of heads includes: themselves and all their ancestors."""
    seen: set[str] = set()
    stack = [p for p in pointers if p in graph]
    while stack:
        rev = stack.pop()
        if rev in seen:
            continue
        seen.add(rev)
        stack.extend(d for d in graph.get(rev, ()) if d not in seen)
    return seen


def compare_graph(
    pointers: Sequence[str], ids: Sequence[str], graph: Mapping[str, Sequence[str]]
) -> tuple[list[str], list[str]]:
    """(pending, ahead) of Alembic heads in the database against the release's graph.

    A head the release does not know (a newer or diverged one) includes ancestors the graph
    cannot tell: then only "ahead" is reported, never a guessed "pending"."""
    unknown = [p for p in pointers if p not in graph]
    if unknown:
        return [], unknown
    covered = ancestry(graph, pointers)
    order = list(ids) or list(graph)
    return [r for r in order if r not in covered], []


def compare_multiset(
    applied: Sequence[str], expected: Sequence[str], repeated: Mapping[str, int]
) -> tuple[list[str], list[str]]:
    """(pending, ahead) counting repeats: a name the release lists twice (a reworked sqitch
    change, ``name`` and ``name@tag``) must be deployed twice."""
    have = Counter({a: max(1, int(repeated.get(a, 1))) for a in applied})
    want = Counter(_strip_tag(i) for i in expected)
    pending: list[str] = []
    seen: Counter[str] = Counter()
    for ident in expected:
        name = _strip_tag(ident)
        seen[name] += 1
        if seen[name] > have[name]:
            pending.append(name if want[name] == 1 else f"{name} (reworked, #{seen[name]})")
    ahead = [a for a in applied if want[a] == 0]
    return pending, ahead


def _strip_tag(ident: str) -> str:
    return ident.split("@", 1)[0] if "@" in ident and not ident.startswith("@") else ident


def compare_change_ids(
    change_ids: Sequence[str], expected: Sequence[str], names: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """(pending, ahead) by sqitch change id; the plan may give abbreviated ids."""

    def label(ident: str) -> str:
        name = names.get(ident)
        return f"{name} ({ident[:8]})" if name else ident

    deployed = [c.lower() for c in change_ids]
    pending = [label(e) for e in expected if not any(d.startswith(e.lower()) for d in deployed)]
    ahead = [d for d in deployed if not any(d.startswith(e.lower()) for e in expected)]
    return pending, ahead


def sqitch_ids_given(expected: Sequence[str]) -> bool:
    return bool(expected) and all(_HEX_ID.match(e) for e in expected)


def django_replacements(
    expected: Sequence[str], explicit: Mapping[str, Sequence[str]], applied: Sequence[str]
) -> dict[str, list[str]]:
    """Squashed id -> the applied ids it replaces. Explicit ``replaces`` (from the manifest)
    win; otherwise Django's default squash name ``NNNN_squashed_MMMM_…`` says which numbers
    of the same app it replaces."""
    out: dict[str, list[str]] = {}
    for squash in expected:
        if squash in explicit:
            out[squash] = list(explicit[squash])
            continue
        m = _DJANGO_SQUASH.match(squash)
        if m is None:
            continue
        first, last = int(m["first"]), int(m["last"])
        out[squash] = [
            a
            for a in applied
            if (n := _DJANGO_NUMBER.match(a)) is not None
            and n["app"] == m["app"]
            and first <= int(n["number"]) <= last
            and a != squash
        ]
    return out


def django_squash_covered(
    squash: str, replaced: Sequence[str], applied: set[str], explicit: bool
) -> bool:
    """Django treats a squash as applied once every migration it replaces is applied."""
    if squash in applied:
        return True
    if explicit:
        return bool(replaced) and all(r in applied for r in replaced)
    m = _DJANGO_SQUASH.match(squash)
    if m is None or not replaced:
        return False
    numbers = {int(n["number"]) for r in replaced if (n := _DJANGO_NUMBER.match(r))}
    return all(k in numbers for k in range(int(m["first"]), int(m["last"]) + 1))


def adjust_django(
    pending: list[str], ahead: list[str], ledger: Mapping[str, Any], expected: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """Squashes whose replaced migrations are all applied are not pending; those replaced
    migrations are known to the release, not "ahead"."""
    applied = list(ledger.get("applied", []))
    explicit: Mapping[str, Sequence[str]] = expected.get("replaces") or {}
    replacements = django_replacements(list(expected.get("ids", [])), explicit, applied)
    applied_set = set(applied)
    known: set[str] = set()
    covered: set[str] = set()
    for squash, replaced in replacements.items():
        known.update(replaced)
        if django_squash_covered(squash, replaced, applied_set, squash in explicit):
            covered.add(squash)
    return [p for p in pending if p not in covered], [a for a in ahead if a not in known]


_VERSION_FILE = re.compile(r"^(?P<version>\d+)_[^/]*$")
#: tools whose ledger keeps only the numeric version of a migration file
VERSION_TOOLS = frozenset({"rails", "dbmate", "golang-migrate"})


def versions_of(ids: Sequence[str]) -> list[str]:
    """``20240101120000_create_users.rb`` -> ``20240101120000``: file names, as ``ls`` or
    ``dbmate status`` list them, name the versions these tools record."""
    return [m["version"] if (m := _VERSION_FILE.match(i)) else i for i in ids]
