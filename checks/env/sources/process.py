"""``process:PID`` — ``/proc/<pid>/environ``: the environment a process was started with.

Reading needs the same uid or CAP_SYS_PTRACE; the buffer is parsed and dropped at once.
"""

from __future__ import annotations

from pathlib import Path

from checks.env.sources import SourceRead, read_file_source

PROC = Path("/proc")


def parse_environ(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in raw.split(b"\0"):
        if not entry or b"=" not in entry:
            continue
        name, _, value = entry.partition(b"=")
        out[name.decode("utf-8", errors="replace")] = value.decode("utf-8", errors="replace")
    return out


def read_process(pid: int, proc: Path = PROC) -> SourceRead:
    path = proc / str(pid) / "environ"

    def explain(exc: OSError) -> str | None:
        if isinstance(exc, FileNotFoundError):
            return f"no process {pid} ({path} does not exist)"
        if isinstance(exc, PermissionError):
            return f"not allowed to read {path} (needs the same user or CAP_SYS_PTRACE)"
        return None

    return read_file_source("process", path, parse_environ, explain)
