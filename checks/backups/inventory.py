"""``inventory`` mode: parse ``pgbackrest info --output=json`` / ``restic snapshots --json``.

Parsers are pure: JSON text in, a normalised list of backups out, newest first.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from checks.backups.common import to_datetime
from checks.base import ProbeError

OUTPUT_CAP = 20_000_000


@dataclass
class Backup:
    """One backup in a tool's inventory."""

    label: str
    at: datetime | None
    size: int | None
    ok: bool
    kind: str = ""

    def to_facts(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "at": self.at.isoformat() if self.at else None,
            "size": self.size,
            "ok": self.ok,
            "type": self.kind,
        }


@dataclass
class Inventory:
    tool: str
    backups: list[Backup]
    #: a tool-level status problem (pgBackRest status code != 0), as "code: message"
    status_error: str | None = None
    status_code: int = 0
    running: bool = False


def detect_format(data: Any) -> str:
    if isinstance(data, list) and data and isinstance(data[0], dict):
        if "backup" in data[0] or "status" in data[0]:
            return "pgbackrest"
        if "time" in data[0] and ("tree" in data[0] or "short_id" in data[0]):
            return "restic"
    if isinstance(data, list) and not data:
        return "empty"
    raise ValueError("not pgbackrest info or restic snapshots JSON")


def parse(
    text: str,
    fmt: str = "auto",
    stanza: str | None = None,
    host: str | None = None,
    tags: list[str] | None = None,
    tool_hint: str | None = None,
) -> Inventory:
    """``tool_hint`` names the tool of an empty list (``[]`` is what both print for none)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"inventory is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    kind = detect_format(data) if fmt == "auto" else fmt
    if kind == "empty":
        return Inventory(tool_hint or "unknown", [])
    if kind == "pgbackrest":
        return parse_pgbackrest(data, stanza)
    if kind == "restic":
        return parse_restic(data, host, tags or [])
    raise ValueError(f"unknown inventory format {fmt!r}")


def parse_pgbackrest(data: Any, stanza: str | None = None) -> Inventory:
    if not isinstance(data, list):
        raise ValueError("pgbackrest info JSON must be a list of stanzas")
    stanzas = [
        s for s in data if isinstance(s, dict) and (stanza is None or s.get("name") == stanza)
    ]
    if stanza is not None and not stanzas:
        return Inventory("pgbackrest", [], f"stanza {stanza!r} not in the info output", 1)
    backups: list[Backup] = []
    errors = []
    code = 0
    running = False
    for s in stanzas:
        status = s.get("status") or {}
        scode = int(status.get("code") or 0)
        if scode:
            code = code or scode
            errors.append(f"{s.get('name')}: {status.get('message') or 'status ' + str(scode)}")
        lock = ((status.get("lock") or {}).get("backup") or {}).get("held")
        running = running or bool(lock)
        for b in s.get("backup") or []:
            ts = b.get("timestamp") or {}
            info = b.get("info") or {}
            backups.append(
                Backup(
                    label=str(b.get("label")),
                    at=to_datetime(ts.get("stop") or ts.get("start")),
                    size=info.get("size") if isinstance(info.get("size"), int) else None,
                    ok=not b.get("error"),
                    kind=str(b.get("type") or ""),
                )
            )
    backups.sort(key=lambda b: b.at.timestamp() if b.at else 0, reverse=True)
    return Inventory("pgbackrest", backups, "; ".join(errors) or None, code, running)


def parse_restic(data: Any, host: str | None = None, tags: list[str] | None = None) -> Inventory:
    if not isinstance(data, list):
        raise ValueError("restic snapshots JSON must be a list")
    backups = []
    for snap in data:
        if not isinstance(snap, dict):
            continue
        if host and snap.get("hostname") != host:
            continue
        if tags and not set(tags) <= set(snap.get("tags") or []):
            continue
        summary = snap.get("summary") or {}
        size = summary.get("total_bytes_processed")
        backups.append(
            Backup(
                label=str(snap.get("short_id") or str(snap.get("id", ""))[:8]),
                at=to_datetime(snap.get("time")),
                size=size if isinstance(size, int) else None,
                ok=True,  # restic records only completed snapshots
                kind="snapshot",
            )
        )
    backups.sort(key=lambda b: b.at.timestamp() if b.at else 0, reverse=True)
    return Inventory("restic", backups)


#: bytes of a failing command's stderr kept for the message (restic/pgBackRest print the
#: reason last: "Fatal: wrong password or no key found")
STDERR_TAIL = 4096
_USERINFO = re.compile(r"(://)[^/@\s]+@")


async def _tail(stream: asyncio.StreamReader, keep: int) -> bytes:
    """Read ``stream`` to its end, keeping only the last ``keep`` bytes (never blocks the
    child on a full pipe)."""
    tail = b""
    while chunk := await stream.read(65536):
        tail = (tail + chunk)[-keep:]
    return tail


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> bytes:
    """Up to ``cap`` bytes, to EOF: ``read(n)`` alone returns the first pipe chunk (64 KiB),
    which cut a long snapshot list into invalid JSON."""
    data = b""
    while len(data) < cap and (chunk := await stream.read(cap - len(data))):
        data += chunk
    return data


def stderr_reason(stderr: bytes, limit: int = 300) -> str:
    """The command's own explanation, one line, credentials in URLs masked."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    text = _USERINFO.sub(r"\1***@", " ".join(lines))
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def run_command(command: list[str], timeout: float) -> str:
    """Run the configured inventory command (no shell) and return its stdout; a non-zero
    exit is ``unreadable`` with the tool's own reason (its stderr) in the message."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise ProbeError("unreadable", f"cannot run {command[0]}: {exc.strerror or exc}") from None
    try:
        async with asyncio.timeout(timeout):
            assert proc.stdout is not None and proc.stderr is not None
            out, err = await asyncio.gather(
                _read_capped(proc.stdout, OUTPUT_CAP + 1), _tail(proc.stderr, STDERR_TAIL)
            )
            rc = await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ProbeError("timeout", f"{command[0]} did not finish within {timeout:.0f}s") from None
    if len(out) > OUTPUT_CAP:
        proc.kill()
        raise ProbeError("unreadable", f"{command[0]} printed more than {OUTPUT_CAP} bytes")
    if rc != 0:
        reason = stderr_reason(err)
        raise ProbeError(
            "unreadable",
            f"{command[0]} exited with status {rc}" + (f": {reason}" if reason else ""),
        )
    return out.decode("utf-8", errors="replace")
