"""Judging the live facts: what the running service did against what the conventions ask (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checks.api.lint_common import Violation

LIVE_RULES = (
    "live.not-found-envelope",
    "live.error-leak",
    "live.list-envelope",
    "live.content-type",
    "live.options-methods",
)


def _where(entry: Mapping[str, Any]) -> str:
    return f"{entry.get('method', 'GET')} {entry.get('path', '')}"


def _not_found(entry: Mapping[str, Any]) -> list[Violation]:
    if "error" in entry:
        return []
    problems = []
    if entry.get("status") != 404:
        problems.append(f"answered {entry.get('status')}, not 404")
    if not entry.get("json"):
        problems.append(
            f"with a {entry.get('content_type') or 'typeless'} body, not the JSON error envelope"
        )
    elif entry.get("envelope_missing"):
        problems.append(f"without {', '.join(entry['envelope_missing'])} in its body")
    if not problems:
        return []
    return [
        Violation(
            "live.not-found-envelope",
            _where(entry),
            f"an unknown route ({_where(entry)}) {'; '.join(problems)}",
        )
    ]


def _leaks(entries: list[Mapping[str, Any]]) -> list[Violation]:
    return [
        Violation(
            "live.error-leak",
            _where(e),
            f"{_where(e)} answered {e.get('status')} with {', '.join(sorted(set(e['signatures'])))}",
        )
        for e in entries
        if e.get("signatures")
    ]


def _lists(entries: list[Mapping[str, Any]]) -> list[Violation]:
    out = []
    for e in entries:
        if "error" in e:
            continue
        where = _where(e)
        status = e.get("status", 0)
        if not 200 <= status < 300:
            out.append(Violation("live.list-envelope", where, f"{where} answered {status}"))
        elif not e.get("json"):
            out.append(
                Violation("live.list-envelope", where, f"{where} did not answer a JSON object")
            )
        elif e.get("envelope_missing") or e.get("meta_missing"):
            gaps = [
                *e.get("envelope_missing", []),
                *(f"meta {m}" for m in e.get("meta_missing", [])),
            ]
            out.append(
                Violation(
                    "live.list-envelope", where, f"{where} answered without {', '.join(gaps)}"
                )
            )
        documented = [t.split(";")[0].strip().lower() for t in e.get("documented_types", [])]
        got = e.get("content_type") or ""
        if documented and got not in documented:
            out.append(
                Violation(
                    "live.content-type",
                    where,
                    f"{where} answered {status} as {got or 'no content type'}; the document lists "
                    f"{', '.join(documented)}",
                )
            )
    return out


def _options(entries: list[Mapping[str, Any]]) -> list[Violation]:
    out = []
    for e in entries:
        if "error" in e or not e.get("allow"):
            continue
        documented = set(e.get("documented", [])) | {"OPTIONS"}
        if "GET" in documented:
            documented.add("HEAD")
        extra = sorted(set(e["allow"]) - documented)
        if extra:
            out.append(
                Violation(
                    "live.options-methods",
                    _where(e),
                    f"OPTIONS {e.get('path')} advertises {', '.join(extra)}, which the document "
                    "does not list",
                )
            )
    return out


def live_violations(live: Mapping[str, Any] | None) -> list[Violation]:
    """Violations of the live rules; nothing when the live probes did not run."""
    if not live:
        return []
    out: list[Violation] = []
    nf = live.get("not_found")
    if nf:
        out.extend(_not_found(nf))
    lists = list(live.get("lists") or [])
    out.extend(_leaks([e for e in [nf, *lists] if e]))
    out.extend(_lists(lists))
    out.extend(_options(list(live.get("options") or [])))
    return out


def probe_errors(live: Mapping[str, Any] | None) -> list[str]:
    """Live probes that could not be made (the service stopped answering mid-run)."""
    if not live:
        return []
    entries = [live.get("not_found"), *(live.get("lists") or []), *(live.get("options") or [])]
    return [f"{_where(e)}: {e['error']}" for e in entries if e and "error" in e]
