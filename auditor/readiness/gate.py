"""The CI/CD gate (DESIGN §5): exit code and text / JSON / JUnit reports from readiness.

Pure: everything here works on a :class:`~auditor.readiness.model.ServiceReadiness`; the CLI
command (``auditor gate``) loads it with :mod:`auditor.readiness.queries` and prints these.

Exit codes (contract): 0 ready (also ready-with-warnings unless ``--strict``), 1 not ready,
2 warnings with ``--strict``, 3 inconclusive (unknown or stale data), 64 usage error.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from auditor.readiness.model import CheckReadiness, ServiceReadiness, iso

SCHEMA = "auditor.gate/v1"
EXIT_READY = 0
EXIT_NOT_READY = 1
EXIT_WARNINGS = 2
EXIT_INCONCLUSIVE = 3
EXIT_USAGE = 64


def exit_code(r: ServiceReadiness, *, strict: bool = False) -> int:
    if r.verdict == "ready":
        return EXIT_READY
    if r.verdict == "ready_with_warnings":
        return EXIT_WARNINGS if strict else EXIT_READY
    if r.verdict == "not_ready":
        return EXIT_NOT_READY
    return EXIT_INCONCLUSIVE


def _check_json(c: CheckReadiness) -> dict[str, Any]:
    return {
        "name": c.name,
        "kind": c.kind,
        "severity": c.severity,
        "level": c.level,
        "blocking": c.blocking,
        "state": c.state,
        "underlying_state": c.underlying_state,
        "stale": c.stale,
        "not_configured": c.not_configured,
        "waived": c.overlay == "waived",
        "attested": c.overlay == "attested",
        "why": c.why,
        "summary": c.summary,
        "findings": [dict(f) for f in c.findings],
        "last_run_at": iso(c.last_run_at),
        "since": iso(c.since),
        "waiver": c.waiver.to_dict() if c.waiver is not None else None,
        "attestation": (
            c.attestation.to_dict(c.attestation_max_age_s) if c.attestation is not None else None
        ),
    }


def to_json(r: ServiceReadiness, *, strict: bool = False) -> dict[str, Any]:
    """The versioned JSON report (``"schema": "auditor.gate/v1"``)."""
    return {
        "schema": SCHEMA,
        "service": r.service,
        "environment": r.environment,
        "evaluated_at": iso(r.evaluated_at),
        "verdict": r.verdict,
        "exit_code": exit_code(r, strict=strict),
        "strict": strict,
        "score": {"value": r.score, "min": r.min_score},
        "level": {
            "achieved": r.level,
            "required": r.required_level,
            "next": r.next_level,
            "blocking_for_next": list(r.next_level_blockers),
        },
        "reasons": list(r.reasons),
        "not_configured": list(r.not_configured),
        "counts": dict(r.counts),
        "checks": [_check_json(c) for c in r.checks],
    }


def render_json(r: ServiceReadiness, *, strict: bool = False) -> str:
    return json.dumps(to_json(r, strict=strict), indent=2)


_VERDICT_TEXT = {
    "ready": "READY",
    "ready_with_warnings": "READY WITH WARNINGS",
    "not_ready": "NOT READY",
    "unknown": "INCONCLUSIVE",
}


def _finding_lines(c: CheckReadiness, limit: int = 5) -> list[str]:
    return [
        f"      - [{f.get('severity', '?')}] {f.get('code', '?')}: {f.get('message', '')}"
        for f in list(c.findings)[:limit]
    ]


_STATE_WORD = {"fail": "failing", "warn": "warning", "pass": "passing"}


def _detail(c: CheckReadiness) -> str:
    """``: why`` without the state word the line already shows in capitals
    ("FAIL tls: failing — …" said it twice)."""
    why, word = c.why, _STATE_WORD.get(c.state)
    if word is not None and why.startswith(word):
        why = why[len(word) :].removeprefix(" — ")
    return f": {why}" if why else ""


def render_text(r: ServiceReadiness, *, strict: bool = False) -> str:
    """Why the service is or is not ready: verdict line, reasons, blocking checks, all checks."""
    code = exit_code(r, strict=strict)
    lines = [
        f"{r.service}: {_VERDICT_TEXT.get(r.verdict, r.verdict)} "
        f"(score {r.score}/100, level {r.level or 'none'}, required {r.required_level}"
        + (f", min score {r.min_score}" if r.min_score else "")
        + f") — exit {code}"
    ]
    if r.reasons:
        lines.append("why:")
        lines += [f"  - {reason}" for reason in r.reasons]
    blocking = [c for c in r.checks if c.blocking]
    if blocking:
        lines.append("blocking checks:")
        for c in blocking:
            lines.append(f"  {c.state.upper():7} {c.name} ({c.kind}){_detail(c)}")
            lines += _finding_lines(c)
    lines.append("checks:")
    for c in r.checks:
        mark = f" [{c.overlay}]" if c.overlay else ""
        lines.append(f"  {c.state.upper():7} {c.name} ({c.kind}, {c.level}){mark}{_detail(c)}")
        if c.state in ("fail", "warn", "error") and not c.blocking:
            lines += _finding_lines(c, limit=3)
    if r.next_level:
        blockers = ", ".join(r.next_level_blockers) or "nothing"
        lines.append(f"to reach {r.next_level}: {blockers}")
    return "\n".join(lines)


def render_junit(r: ServiceReadiness) -> str:
    """JUnit XML: one testcase per check (fail → failure, error/unknown → error,
    waived → skipped), so CI systems display the gate natively."""
    suites = ET.Element("testsuites", name="auditor.gate")
    failures = sum(
        1 for c in r.checks if c.overlay != "waived" and (c.state == "fail" or c.not_configured)
    )
    errors = sum(
        1
        for c in r.checks
        if c.overlay != "waived" and not c.not_configured and c.state in ("error", "unknown")
    )
    skipped = sum(1 for c in r.checks if c.overlay == "waived")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"readiness.{r.service}",
        tests=str(len(r.checks)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        timestamp=iso(r.evaluated_at) or "",
    )
    suites.set("tests", str(len(r.checks)))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("schema", SCHEMA),
        ("verdict", r.verdict),
        ("score", str(r.score)),
        ("level", r.level or "none"),
        ("required_level", r.required_level),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for c in r.checks:
        case = ET.SubElement(
            suite, "testcase", classname=f"{r.service}.{c.kind}", name=c.name, time="0"
        )
        detail = "\n".join(
            f"[{f.get('severity', '?')}] {f.get('code', '?')}: {f.get('message', '')}"
            for f in c.findings
        )
        if c.overlay == "waived":
            ET.SubElement(case, "skipped", message=c.why)
        elif c.state == "fail" or c.not_configured:
            el = ET.SubElement(case, "failure", message=c.why, type=c.kind)
            el.text = detail or c.why
        elif c.state in ("error", "unknown"):
            el = ET.SubElement(case, "error", message=c.why, type=c.state)
            el.text = detail or c.why
        if c.state == "warn" or c.overlay == "attested":
            out = ET.SubElement(case, "system-out")
            out.text = c.why + ("\n" + detail if detail else "")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def render(r: ServiceReadiness, fmt: str, *, strict: bool = False) -> str:
    if fmt == "json":
        return render_json(r, strict=strict)
    if fmt == "junit":
        return render_junit(r)
    return render_text(r, strict=strict)
