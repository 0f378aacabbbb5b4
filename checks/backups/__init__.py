"""The ``backups`` check: fresh, not shrunk, last job succeeded, restore tested recently.

Three modes (heartbeat pings, artifact files, tool inventories) share the options and
the restore-receipt rule; the I/O is in ``collect``, the verdicts in ``evaluate.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from checks.backups import artifact, heartbeat, inventory, restore
from checks.backups.evaluate import evaluate
from checks.base import Check, Options, Outcome, ProbeContext, ProbeError, Target, codes_of
from checks.bounds import Age, ExpectedSize, Span


class BackupsOptions(Options):
    """DESIGN §4 keys ``mode path max_age min_size max_shrink period grace restore_max_age``."""

    mode: Literal["heartbeat", "artifact", "inventory"]
    path: str | None = None
    #: artifact: glob under ``path`` when ``path`` is a directory
    pattern: str = "*"
    max_age: Age | None = None
    min_size: ExpectedSize | None = None
    #: shrunk when the newest is smaller than this fraction of the previous size
    max_shrink: float | None = Field(default=0.5, gt=0, le=1)
    period: Age = 86400.0
    grace: Span = 3600.0
    restore_max_age: Age | None = None
    #: the attestation item that records a restore test
    restore_item: str = "restore"
    #: the check id whose heartbeats are restore drills (default: "<check_id>:restore")
    restore_heartbeat: str | None = None
    #: inventory: where the JSON comes from (a file at ``path``, or this command's stdout)
    command: list[str] | None = None
    format: Literal["auto", "pgbackrest", "restic"] = "auto"
    stanza: str | None = None
    host: str | None = None
    tags: list[str] = []

    @model_validator(mode="after")
    def _mode_keys(self) -> BackupsOptions:
        if self.mode == "artifact" and not self.path:
            raise ValueError("mode artifact needs path (a directory or a glob)")
        if self.mode == "inventory" and not (self.path or self.command):
            raise ValueError("mode inventory needs path (a JSON file) or command")
        if self.command is not None and not self.command:
            raise ValueError("command must be a non-empty list (program and arguments)")
        return self


class BackupsCheck(Check[BackupsOptions]):
    kind = "backups"
    Options: ClassVar[type[BackupsOptions]] = BackupsOptions  # type: ignore[misc]
    codes = codes_of(
        "backups", "missing", "too_old", "too_small", "shrunk", "last_failed", "late",
        "restore_untested", "restore_too_old", "restore_failed", "unreadable", "invalid_response",
    )  # fmt: skip

    async def collect(
        self, target: Target, options: BackupsOptions, ctx: ProbeContext
    ) -> dict[str, Any]:
        facts: dict[str, Any] = {"mode": options.mode, "observed_at": ctx.now().isoformat()}
        if options.mode == "heartbeat":
            facts["heartbeat"] = heartbeat.summarize(ctx.history.heartbeats(target.check_id))
        elif options.mode == "artifact":
            assert options.path is not None
            facts.update(await asyncio.to_thread(artifact.scan, options.path, options.pattern))
            facts["previous_size"], facts["previous_source"] = _previous_size(
                facts, ctx.history.previous_facts(target.check_id) if target.check_id else []
            )
        else:
            facts.update(await _inventory(options, ctx, target))
        hb_id = options.restore_heartbeat or (
            f"{target.check_id}:restore" if target.check_id else ""
        )
        facts["restore"] = restore.receipt(
            ctx.history, target.service_id, options.restore_item, hb_id
        )
        return facts

    def evaluate(self, facts: Mapping[str, Any], options: BackupsOptions) -> Outcome:
        return evaluate(facts, options)


def _previous_size(
    facts: Mapping[str, Any], previous: list[Mapping[str, Any]]
) -> tuple[int | None, str | None]:
    """The previous run's newest size (from the store), else the second-newest file's."""
    if previous:
        newest = previous[0].get("newest") or {}
        if isinstance(newest.get("size"), int):
            return newest["size"], "history"
    sibling = facts.get("sibling")
    if sibling:
        return sibling["size"], "previous_file"
    return None, None


def _tool_hint(options: BackupsOptions) -> str | None:
    """The tool an empty inventory (``[]``) came from: the format, else the command's name."""
    if options.format != "auto":
        return options.format
    name = Path(options.command[0]).name if options.command else ""
    return name if name in ("restic", "pgbackrest") else None


def _size_note(tool: str) -> str:
    if tool == "restic":
        return "size unknown: restic before 0.17 records no snapshot size"
    return f"size unknown: {tool} reports none for this backup"


async def _inventory(options: BackupsOptions, ctx: ProbeContext, target: Target) -> dict[str, Any]:
    if options.command:
        text = await inventory.run_command(options.command, max(0.5, ctx.remaining() * 0.9))
        origin = options.command[0]
    else:
        assert options.path is not None
        try:
            text = await asyncio.to_thread(Path(options.path).read_text, "utf-8")
        except OSError as exc:
            raise ProbeError(
                "unreadable", f"cannot read {options.path}: {exc.strerror or exc}"
            ) from None
        origin = options.path
    try:
        inv = inventory.parse(
            text, options.format, options.stanza, options.host, options.tags, _tool_hint(options)
        )
    except ValueError as exc:
        raise ProbeError("invalid_response", f"{origin}: {exc}") from None
    ok = [b for b in inv.backups if b.ok]
    newest = ok[0] if ok else None
    newest_any = inv.backups[0] if inv.backups else None
    prev_size = next((b.size for b in ok[1:] if b.size is not None), None)
    source = "inventory" if prev_size is not None else None
    if prev_size is None and target.check_id:
        prior = ctx.history.previous_facts(target.check_id)
        size = ((prior[0].get("newest") or {}).get("size")) if prior else None
        if (
            isinstance(size, int)
            and prior
            and (prior[0].get("newest") or {}).get("label") != (newest.label if newest else None)
        ):
            prev_size, source = size, "history"
    return {
        "inventory": {
            "tool": inv.tool,
            "count": len(inv.backups),
            "status_error": inv.status_error,
            "status_code": inv.status_code,
            "running": inv.running,
            "newest_failed": newest_any.label if newest_any and not newest_any.ok else None,
        },
        "newest": newest.to_facts() if newest else None,
        "size_note": _size_note(inv.tool) if newest and newest.size is None else None,
        "previous_size": prev_size,
        "previous_source": source,
    }


__all__ = ["BackupsCheck", "BackupsOptions"]
