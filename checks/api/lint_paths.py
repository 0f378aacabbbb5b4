"""Rules on the paths themselves: plural nouns, no verbs, kebab-case, a version (pure)."""

from __future__ import annotations

import re

from checks.api.lint_common import (
    LintContext,
    Violation,
    is_param,
    list_data,
    segments,
    words,
)
from checks.api.model import Operation, pointer

_VERSION_SEGMENT = re.compile(r"^v[0-9]+(\.[0-9]+)*$")


def _by_path(ctx: LintContext) -> dict[str, list[Operation]]:
    out: dict[str, list[Operation]] = {}
    for op in ctx.spec.operations():
        out.setdefault(op.path, []).append(op)
    return out


def _plural(word: str, exceptions: set[str]) -> bool:
    if word in exceptions:
        return True
    return word.endswith("s") and not word.endswith(("ss", "us", "is"))


def plural_nouns(ctx: LintContext) -> list[Violation]:
    """A literal segment followed by an id, or ending a path that lists or creates, is plural."""
    out = []
    exceptions = {e.lower() for e in ctx.conv.plural_exceptions}
    verbs = {v.lower() for v in ctx.conv.verbs}  # an action is paths.no-verbs' finding
    for path, ops in _by_path(ctx).items():
        if all(ctx.outside_api(op) for op in ops):
            continue
        parts = segments(path)
        collection_end = any(list_data(ctx.spec, op) is not False for op in ops) or any(
            op.method == "POST" for op in ops
        )
        for i, seg in enumerate(parts):
            if is_param(seg) or _VERSION_SEGMENT.match(seg) or seg.lower() in exceptions:
                continue
            if verbs & set(words(seg)):
                continue
            followed_by_id = i + 1 < len(parts) and is_param(parts[i + 1])
            last = i == len(parts) - 1
            if not (followed_by_id or (last and collection_end)):
                continue
            noun = (words(seg) or [seg.lower()])[-1]
            if not _plural(noun, exceptions):
                out.append(
                    Violation(
                        "paths.plural-nouns",
                        pointer("paths", path),
                        f"collection segment {seg!r} of {path} is not a plural noun",
                    )
                )
                break
    return out


def no_verbs(ctx: LintContext) -> list[Violation]:
    out = []
    verbs = {v.lower() for v in ctx.conv.verbs}
    for path in _by_path(ctx):
        for seg in segments(path):
            if is_param(seg):
                continue
            hit = next((w for w in words(seg) if w in verbs), None)
            if hit:
                out.append(
                    Violation(
                        "paths.no-verbs",
                        pointer("paths", path),
                        f"segment {seg!r} of {path} is an action (verb {hit!r}), not a resource",
                    )
                )
                break
    return out


def kebab_case(ctx: LintContext) -> list[Violation]:
    out = []
    pattern = re.compile(ctx.conv.segment_pattern)
    for path in _by_path(ctx):
        bad = [s for s in segments(path) if not is_param(s) and not pattern.match(s)]
        if bad:
            out.append(
                Violation(
                    "paths.kebab-case",
                    pointer("paths", path),
                    f"segment {bad[0]!r} of {path} is not lower-case kebab-case",
                )
            )
    return out


def versioned(ctx: LintContext) -> list[Violation]:
    """Every API path carries a version; one finding at the base when none does."""
    pattern = re.compile(ctx.conv.version_pattern)
    paths = _by_path(ctx)
    base = ctx.spec.base_path()
    checked = [p for p, ops in paths.items() if not all(ctx.outside_api(op) for op in ops)]
    missing = [p for p in checked if not pattern.search(base + p)]
    if not missing:
        return []
    if len(missing) == len(checked) and len(checked) > 1:
        where = pointer("basePath") if ctx.spec.swagger else pointer("servers")
        return [
            Violation(
                "paths.versioned",
                where,
                f"no path carries a version (base path {base or '/'!r}; e.g. {missing[0]})",
            )
        ]
    return [
        Violation("paths.versioned", pointer("paths", p), f"{base + p} carries no version")
        for p in missing
    ]


RULES = {
    "paths.plural-nouns": plural_nouns,
    "paths.no-verbs": no_verbs,
    "paths.kebab-case": kebab_case,
    "paths.versioned": versioned,
}
