"""``dotenv:PATH`` — a ``.env`` file, parsed like python-dotenv / docker compose do."""

from __future__ import annotations

import re
from pathlib import Path

from checks.env.sources import SourceRead, read_file_source

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.\-]*)\s*=\s*(.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def parse_dotenv(text: str) -> dict[str, str]:
    """Names to values. Lines that are not ``NAME=value`` are skipped (never echoed)."""
    out: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _LINE.match(lines[i])
        i += 1
        if not match:
            continue
        name, rest = match.group(1), match.group(2)
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            body = rest[1:]
            while _closing(body, quote) < 0 and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            end = _closing(body, quote)
            value = body[:end] if end >= 0 else body
            if quote == '"':
                value = re.sub(
                    r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), value
                )
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
        out[name] = value
    return out


def _closing(body: str, quote: str) -> int:
    escaped = False
    for pos, ch in enumerate(body):
        if escaped:
            escaped = False
        elif ch == "\\" and quote == '"':
            escaped = True
        elif ch == quote:
            return pos
    return -1


def read_dotenv(path: str) -> SourceRead:
    return read_file_source(
        "dotenv",
        Path(path),
        lambda raw: parse_dotenv(raw.decode("utf-8", errors="replace")),
        shown=path,
    )
