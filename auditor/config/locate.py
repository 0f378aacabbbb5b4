"""Where a key path sits in the TOML source: ``services[1].checks[0].interval`` -> line 12.

``tomllib`` keeps no positions, so a problem could only name its key path. This module scans
the (already valid) source once: table headers (``[a.b]``, ``[[services.checks]]``, counting
the array-of-tables index per parent) and ``key = value`` lines (dotted and quoted keys); a
value that spans lines (arrays, inline tables, multi-line strings) is consumed whole by
growing it until ``tomllib`` parses it, so nothing inside a string is taken for a key.

A path the scan cannot place exactly (a key inside an inline table, a missing key) falls
back to its nearest placed ancestor: ``services[1].url: is required`` points at the
``[[services]]`` header. A dependency such as ``tomlkit`` was not needed: it keeps layout
but exposes no line numbers either.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence

Part = str | int
Path = tuple[Part, ...]

_INDEX = re.compile(r"\[(\d+)\]")


def _split_key(text: str) -> list[str] | None:
    """``a."b.c".d`` -> ``["a", "b.c", "d"]``; None when ``text`` is not a key."""
    parts: list[str] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return None
        if text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            while quote == '"' and end > 0 and text[end - 1] == "\\":
                end = text.find(quote, end + 1)
            if end < 0:
                return None
            raw = text[i : end + 1]
            try:
                parts.append(str(tomllib.loads(f"k = {raw}")["k"]))
            except tomllib.TOMLDecodeError:
                return None
            i = end + 1
        else:
            match = re.match(r"[A-Za-z0-9_-]+", text[i:])
            if not match:
                return None
            parts.append(match.group(0))
            i += match.end()
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return parts
        if text[i] != ".":
            return None
        i += 1


def _key_and_value(line: str) -> tuple[list[str], str] | None:
    """A ``key = value`` line split at its ``=`` (outside quotes)."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            key = _split_key(line[:i])
            return (key, line[i + 1 :]) if key else None
    return None


def _header(line: str) -> tuple[list[str], bool] | None:
    """``[a.b]`` / ``[[a.b]]`` (with an optional trailing comment) -> (parts, is_array)."""
    stripped = line.strip()
    array = stripped.startswith("[[")
    inner = stripped[2:] if array else stripped[1:]
    close = "]]" if array else "]"
    quote = ""
    for i, ch in enumerate(inner):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif inner.startswith(close, i):
            parts = _split_key(inner[:i])
            return (parts, array) if parts else None
    return None


class Locator:
    """Line numbers (1-based) of the tables and keys of one TOML document."""

    def __init__(self, source: str) -> None:
        self.lines: dict[Path, int] = {}
        self._arrays: dict[Path, int] = {}  # array-of-tables path -> its last index
        self._scan(source.splitlines())

    def _resolve(self, parts: Sequence[str]) -> Path:
        """A header's dotted key as a path, descending into the latest element of each
        array of tables on the way (``services.checks`` -> ``services, 3, checks``)."""
        path: Path = ()
        for part in parts:
            path = (*path, part)
            if path in self._arrays:
                path = (*path, self._arrays[path])
        return path

    def _scan(self, lines: list[str]) -> None:
        table: Path = ()
        i = 0
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            number = i + 1
            i += 1
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("["):
                found = _header(stripped)
                if found is None:
                    continue
                parts, array = found
                if array:
                    parent = self._resolve(parts[:-1])
                    key = (*parent, parts[-1])
                    self._arrays[key] = self._arrays.get(key, -1) + 1
                    self.lines.setdefault(key, number)
                    table = (*key, self._arrays[key])
                else:
                    table = self._resolve(parts)
                self.lines.setdefault(table, number)
                continue
            kv = _key_and_value(line)
            if kv is None:
                continue
            key_parts, value = kv
            for depth in range(1, len(key_parts) + 1):
                self.lines.setdefault((*table, *key_parts[:depth]), number)
            # consume the rest of a value that spans several lines
            first = i
            while i < len(lines) and not _complete(value):
                value += "\n" + lines[i]
                i += 1
            if i > first:
                self._elements((*table, *key_parts), value, number)

    def _elements(self, path: Path, value: str, number: int) -> None:
        """Lines of the elements of a multi-line array and of the keys of its inline tables
        (``conditions[2]``, ``checks[1].interval`` written inline)."""
        _Value(self.lines, value, number).parse(0, path)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, else of its nearest placed ancestor; None when none is."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


class _Value:
    """A recursive walk over one (valid) multi-line value, recording where each part starts."""

    def __init__(self, lines: dict[Path, int], text: str, number: int) -> None:
        self.lines, self.text, self.number = lines, text, number

    def _line(self, pos: int) -> int:
        return self.number + self.text.count("\n", 0, pos)

    def _blank(self, pos: int) -> int:
        """Skip whitespace, newlines and comments."""
        text = self.text
        while pos < len(text):
            if text[pos] == "#":
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
            elif text[pos] in " \t\r\n":
                pos += 1
            else:
                break
        return pos

    def parse(self, pos: int, path: Path) -> int:
        """Walk the value at ``pos``; return the position after it."""
        text = self.text
        pos = self._blank(pos)
        if pos >= len(text):
            return pos
        ch = text[pos]
        if ch in "\"'":
            return _skip_string(text, pos)
        if ch not in "[{":
            while pos < len(text) and text[pos] not in ",]}\n#":
                pos += 1
            return pos
        close, index = ("]" if ch == "[" else "}"), 0
        pos += 1
        while True:
            pos = self._blank(pos)
            if pos >= len(text) or text[pos] == close:
                return pos + 1
            if text[pos] == ",":
                pos += 1
                continue
            if close == "]":
                item: Path = (*path, index)
                index += 1
            else:
                equals = _equals(text, pos)
                key = _split_key(text[pos:equals]) or []
                item = (*path, *key)
                for depth in range(1, len(key) + 1):
                    self.lines.setdefault((*path, *key[:depth]), self._line(pos))
                pos = equals + 1
            self.lines.setdefault(item, self._line(pos if close == "]" else self._blank(pos)))
            pos = self.parse(pos, item)


def _equals(text: str, pos: int) -> int:
    """The position of the ``=`` ending the key that starts at ``pos``."""
    quote = ""
    while pos < len(text):
        ch = text[pos]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return pos
        pos += 1
    return pos


def _skip_string(text: str, pos: int) -> int:
    """The position after the string (basic, literal, or multi-line) starting at ``pos``."""
    quote = text[pos]
    delim = quote * 3 if text.startswith(quote * 3, pos) else quote
    pos += len(delim)
    while pos < len(text):
        if quote == '"' and text[pos] == "\\":
            pos += 2
            continue
        if text.startswith(delim, pos):
            end = pos + len(delim)
            while len(delim) == 3 and end < len(text) and text[end] == quote:
                end += 1  # up to two quotes may end a multi-line string's content
            return end
        pos += 1
    return pos


def _complete(value: str) -> bool:
    try:
        tomllib.loads(f"k = {value}")
    except tomllib.TOMLDecodeError:
        return False
    return True


def parse_path(text: str) -> Path:
    """``services[1].checks[0].interval`` -> ``("services", 1, "checks", 0, "interval")``;
    a profile marker (``profile(production)``) stands for the ``profile`` key."""
    out: list[Part] = []
    for segment in text.split("."):
        name, _, rest = segment.partition("[")
        name = name.split("(", 1)[0]
        if name:
            out.append(name)
        out.extend(int(m) for m in _INDEX.findall("[" + rest if rest else ""))
    return tuple(out)


def with_lines(problems: Sequence[str], source: str, filename: str) -> list[str]:
    """``path: message`` -> ``file:line: path: message`` wherever the path's line is found,
    in file order (a value that came from an ``AUDITOR_*`` override, or from no key at all,
    keeps no line and comes first: it is not in the file)."""
    locator = Locator(source)
    placed: list[tuple[int, str]] = []
    for problem in problems:
        path, sep, _ = problem.partition(": ")
        line = None if not sep or " " in path else locator.line_of(parse_path(path))
        placed.append((line or 0, f"{filename}:{line}: {problem}" if line else problem))
    return [text for _, text in sorted(placed, key=lambda item: item[0])]
