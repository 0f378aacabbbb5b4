"""Pure verdicts for the three modes and the restore receipt."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from checks.backups.common import age_seconds, human_age, human_size
from checks.base import Judged, Outcome, RunStatus, Severity, judged, outcome_from_findings

Pairs = list[Judged]

_f = partial(judged, "backups")


def heartbeat_findings(facts: Mapping[str, Any], period: float, grace: float) -> Pairs:
    hb = facts["heartbeat"]
    now = facts["observed_at"]
    if not hb["pings"]:
        return [_f(RunStatus.FAIL, "missing", Severity.HIGH, "the backup job has never pinged")]
    out: Pairs = []
    if hb["last_completion"] == "fail":
        code = hb.get("last_exit_code")
        detail = f" (exit code {code})" if code not in (None, 0) else ""
        out.append(
            _f(RunStatus.FAIL, "last_failed", Severity.HIGH, f"the last backup run failed{detail}")
        )
    started = age_seconds(now, hb["started_at"])
    if started is not None and started > grace:
        out.append(
            _f(
                RunStatus.FAIL,
                "late",
                Severity.HIGH,
                f"a backup run started {human_age(started)} ago and has not finished "
                f"(grace {human_age(grace)})",
            )
        )
    ok_age = age_seconds(now, hb["last_success_at"])
    if ok_age is None:
        if not out and started is None:
            out.append(
                _f(RunStatus.FAIL, "missing", Severity.HIGH, "no backup run has succeeded yet")
            )
    elif ok_age > period + grace and started is None:
        out.append(
            _f(
                RunStatus.FAIL,
                "late",
                Severity.HIGH,
                f"last successful backup {human_age(ok_age)} ago (period {human_age(period)} "
                f"+ grace {human_age(grace)})",
            )
        )
    elif ok_age > period + grace and not any(f.code == "backups.late" for _, f in out):
        out.append(
            _f(
                RunStatus.WARN,
                "late",
                Severity.MEDIUM,
                f"last successful backup {human_age(ok_age)} ago; a run is in progress",
            )
        )
    return out


def artifact_findings(facts: Mapping[str, Any], options: Any) -> Pairs:
    newest = facts.get("newest")
    if not newest:
        tool = (facts.get("inventory") or {}).get("tool")
        where = facts.get("pattern") or (
            f"the {tool} inventory is empty" if tool and tool != "unknown" else "the inventory"
        )
        return [_f(RunStatus.FAIL, "missing", Severity.HIGH, f"no backup found ({where})")]
    out: Pairs = []
    age = age_seconds(facts["observed_at"], newest.get("at"))
    if options.max_age is not None and age is not None and age > options.max_age:
        out.append(
            _f(
                RunStatus.FAIL,
                "too_old",
                Severity.HIGH,
                f"newest backup {newest['name'] if 'name' in newest else newest.get('label')} is "
                f"{human_age(age)} old (max {human_age(options.max_age)})",
            )
        )
    size = newest.get("size")
    if options.min_size is not None and size is not None and size < options.min_size:
        out.append(
            _f(
                RunStatus.FAIL,
                "too_small",
                Severity.HIGH,
                f"newest backup is {human_size(size)} (min {human_size(options.min_size)})",
            )
        )
    prev = facts.get("previous_size")
    if (
        options.max_shrink is not None
        and size is not None
        and prev
        and size < options.max_shrink * prev
    ):
        out.append(
            _f(
                RunStatus.FAIL,
                "shrunk",
                Severity.HIGH,
                f"newest backup is {human_size(size)}, under {options.max_shrink:g} x the "
                f"previous {human_size(prev)}",
            )
        )
    return out


def inventory_findings(facts: Mapping[str, Any], options: Any) -> Pairs:
    inv = facts["inventory"]
    out: Pairs = []
    if inv.get("status_error"):
        code = inv.get("status_code")
        name = "missing" if code in (1, 2, 3) else "last_failed"
        out.append(_f(RunStatus.FAIL, name, Severity.HIGH, f"{inv['tool']}: {inv['status_error']}"))
    if inv.get("newest_failed"):
        out.append(
            _f(
                RunStatus.FAIL,
                "last_failed",
                Severity.HIGH,
                f"{inv['tool']}: the newest backup {inv['newest_failed']} has errors",
            )
        )
    if not any(f.code == "backups.missing" for _, f in out):
        out += artifact_findings(facts, options)
    return out


def inventory_summary(facts: Mapping[str, Any]) -> str:
    """``restic: newest backup 1a2b3c4d is 2.0h old, 300.0KB`` (or why the size is unknown)."""
    newest = facts.get("newest") or {}
    age = age_seconds(facts["observed_at"], newest.get("at"))
    size = newest.get("size")
    what = human_size(size) if isinstance(size, int) else facts.get("size_note") or "size unknown"
    when = f"is {human_age(age)} old" if age is not None else "has no date"
    return f"{facts['inventory']['tool']}: newest backup {newest.get('label')} {when}, {what}"


def restore_findings(facts: Mapping[str, Any], restore_max_age: float | None) -> Pairs:
    if restore_max_age is None:
        return []
    rec = facts.get("restore") or {}
    now = facts["observed_at"]
    out: Pairs = []
    if rec.get("last_drill_failed"):
        out.append(
            _f(RunStatus.FAIL, "restore_failed", Severity.HIGH, "the last restore drill failed")
        )
    age = age_seconds(now, rec.get("at"))
    if age is None:
        out.append(
            _f(
                RunStatus.FAIL,
                "restore_untested",
                Severity.MEDIUM,
                "no restore test on record (attestation or restore heartbeat)",
            )
        )
        return out
    expired = rec.get("expires_at") and datetime.fromisoformat(
        rec["expires_at"]
    ) < datetime.fromisoformat(now)
    if age > restore_max_age or expired:
        why = (
            "its sign-off expired"
            if expired and age <= restore_max_age
            else f"max {human_age(restore_max_age)}"
        )
        out.append(
            _f(
                RunStatus.FAIL,
                "restore_too_old",
                Severity.MEDIUM,
                f"last restore test was {human_age(age)} ago ({why})",
            )
        )
    return out


def evaluate(facts: Mapping[str, Any], options: Any) -> Outcome:
    mode = facts["mode"]
    if mode == "heartbeat":
        out = heartbeat_findings(facts, options.period, options.grace)
        ok = "backup job pinged on time and succeeded"
    elif mode == "artifact":
        out = artifact_findings(facts, options)
        ok = f"newest backup {facts['newest']['name']} is fresh" if facts.get("newest") else ""
    else:
        out = inventory_findings(facts, options)
        ok = inventory_summary(facts)
    out += restore_findings(facts, options.restore_max_age)
    return outcome_from_findings(out, ok)
