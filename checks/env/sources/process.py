"""``process:PID`` — ``/proc/<pid>/environ``: the environment a process was started with.

Reading needs the same uid or CAP_SYS_PTRACE; the buffer is parsed and dropped at once.
"""

from __future__ import annotations

from pathlib import Path

from checks.base import ProbeError
from checks.env.sources import Masked, SourceRead

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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProbeError("unreadable", f"no process {pid} ({path} does not exist)") from None
    except PermissionError:
        raise ProbeError(
            "unreadable",
            f"not allowed to read {path} (needs the same user or CAP_SYS_PTRACE)",
        ) from None
    except OSError as exc:
        raise ProbeError(
            "unreadable", f"cannot read {path}: {exc.strerror or type(exc).__name__}"
        ) from None
    values: dict[str, str | Masked] = dict(parse_environ(raw))
    del raw
    return SourceRead("process", values)
