"""Pure comparison of the ledger with the expected state: facts in, findings out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from checks.base import Finding, Outcome, RunStatus, Severity, outcome_from_findings
from checks.migrations import identity

MAX_IDS_IN_MESSAGE = 5
#: a lock dated this far after "now" is not a small clock difference but a wrong zone/clock
LOCK_CLOCK_TOLERANCE_S = 120.0


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_IN_MESSAGE])
    return shown + (
        f" (+{len(ids) - MAX_IDS_IN_MESSAGE} more)" if len(ids) > MAX_IDS_IN_MESSAGE else ""
    )


def _num(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def _norm_checksum(value: str) -> str:
    # Liquibase prefixes its MD5SUM with the checksum version ("9:abc...")
    return re.sub(r"^\d+:", "", value.strip()).lower()


def compare(ledger: Mapping[str, Any], expected: Mapping[str, Any]) -> dict[str, Any]:
    """Pending, ahead and drifted ids of ``ledger`` against ``expected`` (both facts dicts),
    by what the tool itself compares (:mod:`checks.migrations.identity`)."""
    applied: list[str] = list(ledger.get("applied", []))
    ids: list[str] = list(expected.get("ids", []))
    tool = ledger.get("tool")
    if tool in identity.VERSION_TOOLS:
        expected = {**expected, "ids": identity.versions_of(ids),
                    "heads": identity.versions_of(list(expected.get("heads", [])))}  # fmt: skip
        ids = list(expected["ids"])
    graph: Mapping[str, list[str]] = expected.get("graph") or {}
    if ledger.get("cumulative") and graph:
        pointers = applied + list(ledger.get("dirty", []))
        pending, ahead = identity.compare_graph(pointers, ids, graph)
        return _result(pending, ahead, False, _drift(ledger, expected))
    change_ids = (ledger.get("notes") or {}).get("change_ids")
    if tool == "sqitch" and change_ids is not None and identity.sqitch_ids_given(ids):
        pending, ahead = identity.compare_change_ids(change_ids, ids, expected.get("names", {}))
        return _result(pending, ahead, False, _drift(ledger, expected))
    repeated: Mapping[str, int] = ledger.get("repeated") or {}
    if not ledger.get("cumulative") and ids and (repeated or len(set(ids)) < len(ids)):
        pending, ahead = identity.compare_multiset(applied, ids, repeated)
        return _result(pending, ahead, False, _drift(ledger, expected))
    result = _compare_ids(ledger, expected)
    if tool == "django" and ids:
        result["pending"], result["ahead"] = identity.adjust_django(
            result["pending"], result["ahead"], ledger, expected
        )
        result["pending_count"] = len(result["pending"])
        result["behind"] = bool(result["pending"])
    return result


def _result(
    pending: list[str], ahead: list[str], pending_unknown: bool, drift: list[str]
) -> dict[str, Any]:
    return {
        "pending": pending,
        "pending_count": len(pending) if not pending_unknown else None,
        "behind": bool(pending) or pending_unknown,
        "ahead": ahead,
        "checksum_drift": drift,
    }


def _drift(ledger: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    drift = []
    checksums: Mapping[str, str] = ledger.get("checksums", {})
    for ident, want in expected.get("checksums", {}).items():
        have = checksums.get(ident)
        if have is not None and _norm_checksum(str(have)) != _norm_checksum(str(want)):
            drift.append(ident)
    return drift


def _compare_ids(ledger: Mapping[str, Any], expected: Mapping[str, Any]) -> dict[str, Any]:
    """Ids as a set in release order; cumulative pointers cover every earlier id."""
    applied: list[str] = list(ledger.get("applied", []))
    ids: list[str] = list(expected.get("ids", []))
    heads: list[str] = list(expected.get("heads", []))
    pending: list[str] = []
    ahead: list[str] = []
    pending_unknown = False  # behind, but how many is not knowable without an ordered list
    covered: set[str] = set(applied)
    baseline = ledger.get("baseline")
    if ledger.get("cumulative"):
        covered = set()
        for pointer in applied + list(ledger.get("dirty", [])):
            if pointer in ids:
                covered.update(ids[: ids.index(pointer) + 1])
            elif _num(pointer) is not None and ids and all(_num(i) is not None for i in ids):
                covered.update(i for i in ids if int(i) <= int(pointer))
        covered.update(applied)
    if baseline and baseline in ids:
        covered.update(ids[: ids.index(baseline) + 1])
    known = set(ids) | set(heads)
    if ids:
        pending = [i for i in ids if i not in covered]
        ahead = [a for a in applied if a not in known]
        if ledger.get("cumulative") and ahead and not covered & set(ids):
            # every pointer is unknown to the release (a newer or diverged head):
            # which expected ids it includes cannot be known, so only "ahead" is reported
            pending = []
    elif heads:
        if ledger.get("cumulative"):
            pointers = set(applied)
            if pointers != set(heads):
                numeric = [_num(p) for p in pointers] + [_num(h) for h in heads]
                if pointers and all(n is not None for n in numeric):
                    top_db = max(int(p) for p in pointers)
                    top_exp = max(int(h) for h in heads)
                    if top_db > top_exp:
                        ahead = sorted(pointers - set(heads))
                    else:
                        pending_unknown = True
                else:
                    pending_unknown = True
        else:
            pending = [h for h in heads if h not in covered]
    if ids and heads and ledger.get("cumulative") and set(applied) != set(heads) and not pending:
        pending_unknown = not ahead
    return _result(pending, ahead, pending_unknown, _drift(ledger, expected))


def _age(observed: datetime, iso: str | None) -> float | None:
    if not iso:
        return None
    return (observed - datetime.fromisoformat(iso)).total_seconds()


def evaluate(facts: Mapping[str, Any], grace: float, lock_max_age: float) -> Outcome:
    """Findings for one run's facts; ``grace`` (unfinished Prisma rows) and
    ``lock_max_age`` are seconds."""
    tool = facts.get("tool") or "auto"
    if not facts.get("table_found"):
        table = facts.get("table") or "any known migration ledger"
        return outcome_from_findings(
            [
                (
                    RunStatus.FAIL,
                    Finding(
                        "migrations.table_missing",
                        Severity.HIGH,
                        f"no {'migration' if tool == 'auto' else tool} ledger table ({table}) "
                        "in the database: "
                        "migrations were never run here, or the DSN points at the wrong database",
                    ),
                )
            ],
            "",
        )
    ledger: Mapping[str, Any] = facts["ledger"]
    observed = datetime.fromisoformat(facts["observed_at"])
    out: list[tuple[RunStatus, Finding]] = []
    crit = Severity.CRITICAL
    if ledger.get("failed"):
        out.append(
            (
                RunStatus.FAIL,
                Finding(
                    "migrations.failed",
                    crit,
                    f"{tool}: failed migration(s) {_ids(ledger['failed'])}",
                ),
            )
        )
    if ledger.get("dirty"):
        out.append(
            (
                RunStatus.FAIL,
                Finding(
                    "migrations.dirty",
                    crit,
                    f"{tool}: database is dirty at version {_ids(ledger['dirty'])} "
                    "(a migration failed or crashed mid-way; fix and force the version)",
                ),
            )
        )
    if ledger.get("partial"):
        out.append(
            (
                RunStatus.FAIL,
                Finding(
                    "migrations.partial",
                    crit,
                    f"{tool}: migration {_ids(ledger['partial'])} was applied only partially",
                ),
            )
        )
    stale = [
        u["id"]
        for u in ledger.get("unfinished", [])
        if (_age(observed, u["started_at"]) or 0) > grace
    ]
    young = [u["id"] for u in ledger.get("unfinished", []) if u["id"] not in stale]
    if stale:
        out.append(
            (
                RunStatus.FAIL,
                Finding(
                    "migrations.failed",
                    crit,
                    f"{tool}: migration(s) {_ids(stale)} started but never finished "
                    f"(older than the {grace:g}s grace)",
                ),
            )
        )
    if young:
        out.append(
            (
                RunStatus.WARN,
                Finding(
                    "migrations.in_progress",
                    Severity.LOW,
                    f"{tool}: migration(s) {_ids(young)} are running",
                ),
            )
        )
    for lock in ledger.get("locks", []):
        if not lock.get("held"):
            continue
        age = lock.get("age_s")
        if age is None:
            age = _age(observed, lock.get("since"))
        if age is not None and age < -LOCK_CLOCK_TOLERANCE_S:
            out.append(
                (
                    RunStatus.WARN,
                    Finding(
                        "migrations.lock_in_future",
                        Severity.MEDIUM,
                        f"{tool}: migration lock {lock['name']} is held and dated {-age:.0f}s "
                        "after the database's current time: the migrating host's clock or time "
                        "zone differs from the database's, so how long it has been held is "
                        "unknown; check the lock by hand",
                    ),
                )
            )
        elif age is not None and age > lock_max_age:
            out.append(
                (
                    RunStatus.FAIL,
                    Finding(
                        "migrations.lock_stuck",
                        Severity.HIGH,
                        f"{tool}: migration lock {lock['name']} held for {age:.0f}s "
                        f"(over {lock_max_age:g}s): a run probably crashed and left it",
                    ),
                )
            )
        else:
            out.append(
                (
                    RunStatus.WARN,
                    Finding(
                        "migrations.locked",
                        Severity.LOW,
                        f"{tool}: migration lock {lock['name']} is held (a migration may be running)",
                    ),
                )
            )
    expected = facts.get("expected")
    if expected and (expected.get("ids") or expected.get("heads")):
        cmp = compare(ledger, expected)
        if young:  # an in-flight migration is reported as running, not as pending
            cmp["pending"] = [p for p in cmp["pending"] if p not in young]
            cmp["behind"] = bool(cmp["pending"]) or (cmp["behind"] and cmp["pending_count"] is None)
        if cmp["behind"]:
            if cmp["pending"]:
                msg = f"{tool}: {len(cmp['pending'])} pending migration(s): {_ids(cmp['pending'])}"
            else:
                msg = (
                    f"{tool}: database is at {_ids(ledger.get('applied', [])) or 'nothing'}, "
                    f"expected {_ids(expected.get('heads') or expected.get('ids', [])[-1:])}"
                )
            out.append((RunStatus.FAIL, Finding("migrations.pending", Severity.HIGH, msg)))
        if cmp["ahead"]:
            out.append(
                (
                    RunStatus.WARN,
                    Finding(
                        "migrations.ahead",
                        Severity.MEDIUM,
                        f"{tool}: database has {len(cmp['ahead'])} migration(s) this release does not know: "
                        f"{_ids(cmp['ahead'])}",
                    ),
                )
            )
        if cmp["checksum_drift"]:
            out.append(
                (
                    RunStatus.FAIL,
                    Finding(
                        "migrations.checksum_drift",
                        Severity.HIGH,
                        f"{tool}: applied migration(s) {_ids(cmp['checksum_drift'])} differ from the release's checksums",
                    ),
                )
            )
        ok = f"{tool}: schema at the expected state ({ledger.get('applied_count', 0)} applied)"
    else:
        ok = f"{tool}: {ledger.get('applied_count', 0)} migration(s) applied, none failed"
        if not out:
            out.append(
                (
                    RunStatus.PASS,
                    Finding(
                        "migrations.unverified",
                        Severity.INFO,
                        f"{tool}: no failure recorded, but no expected state is configured "
                        "(set expected, expected_head or manifest to detect pending migrations)",
                    ),
                )
            )
    return outcome_from_findings(out, ok)
