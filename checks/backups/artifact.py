"""``artifact`` mode: the newest file matching a glob under ``path``."""

from __future__ import annotations

import glob
import os
from datetime import UTC, datetime
from typing import Any

from checks.base import ProbeError

_GLOB_CHARS = set("*?[")


def pattern_for(path: str, pattern: str) -> str:
    """``path`` may itself be a glob; a directory gets ``pattern`` appended."""
    if _GLOB_CHARS & set(path):
        return path
    return os.path.join(path, pattern)


def scan(path: str, pattern: str) -> dict[str, Any]:
    """Facts about the two newest regular files matching; blocking (run in a thread)."""
    full = pattern_for(path, pattern)
    base = path if not (_GLOB_CHARS & set(path)) else os.path.dirname(path.split("*")[0]) or "."
    if not os.path.isdir(base):
        raise ProbeError(
            "unreadable", f"backup directory {base} does not exist or is not a directory"
        )
    files = []
    for name in glob.glob(full, recursive=True):
        try:
            st = os.stat(name)
        except OSError:
            continue  # removed while listing (rotation)
        if os.path.isfile(name):
            files.append((st.st_mtime, st.st_size, name))
    files.sort(reverse=True)
    facts: dict[str, Any] = {
        "pattern": full,
        "matched": len(files),
        "newest": None,
        "sibling": None,
    }
    for key, entry in zip(("newest", "sibling"), files[:2], strict=False):
        mtime, size, name = entry
        facts[key] = {
            "name": os.path.relpath(name, base),
            "at": datetime.fromtimestamp(mtime, UTC).isoformat(),
            "size": size,
        }
    return facts
