"""``/services/{id}/evidence`` and ``/services/{id}/deploys``: what CI/CD pushes (issue #20).

A push is multipart (``file`` plus ``item``, ``format``, ``commit``, ``version`` form fields)
by a token with the ``evidence`` scope. The report is read within ``[auditor]
evidence_max_size``, parsed and judged by the rules of the service's ``evidence`` check for
that item, and only then stored, in one transaction: a bad report is a 4xx naming the
problem and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from flask import Response, current_app, request
from pydantic import ValidationError

from auditor.store.accounts import has_scope
from auditor.store.evidence import add_deploy, add_evidence, evidence_checks, get_evidence
from auditor.store.evidence import list_evidence as list_rows
from auditor.store.evidence_models import DeployEvent, Evidence
from auditor.store.models import utcnow
from checks.evidence import EvidenceOptions
from checks.evidence.errors import ReportError
from checks.evidence.formats import parse_report
from checks.evidence.rules import judge, parse_rules
from web.api.auth import current_token
from web.api.blueprint import bp, route
from web.api.envelope import ApiError, Filter, ListSpec, listing, ok, parse_list_args
from web.api.schemas import In, Out, validation_error
from web.context import get_store

LIST_SPEC = ListSpec(sort_fields=("pushed_at",), default_sort="-pushed_at",
                     filters={"item": Filter()})  # fmt: skip
_COMMIT = re.compile(r"^[A-Za-z0-9._/-]{1,64}$")
_VERSION = re.compile(r"^[A-Za-z0-9._+:/-]{1,128}$")
#: multipart framing allowed on top of the report itself
_OVERHEAD = 1024 * 1024


class EvidenceOut(Out):
    id: str
    service_id: str
    item: str
    format: str
    verdict: str
    summary: dict[str, Any]
    pushed_by: str
    commit: str | None
    version: str | None
    report_size: int
    report_sha256: str
    pushed_at: datetime
    created_at: datetime
    updated_at: datetime


class DeployIn(In):
    version: str
    commit: str | None = None


class DeployOut(Out):
    id: str
    service_id: str
    version: str
    commit: str | None
    pushed_by: str
    at: datetime
    created_at: datetime
    updated_at: datetime


def _json(row: Any) -> dict[str, Any]:
    data = row if isinstance(row, dict) else row.model_dump(exclude={"report", "token_id"})
    return EvidenceOut.model_validate(data).model_dump(mode="json")


def _pusher() -> tuple[str, str | None]:
    token = current_token()
    if token is None or not has_scope(token, "evidence"):
        raise ApiError(403, "forbidden", "this operation needs a token with the evidence scope "
                       "(auditor token create --scope evidence)")  # fmt: skip
    return f"token:{token.name}", token.id


def _field(name: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = request.form.get(name)
    if value is None or value == "":
        return None
    if not pattern.match(value):
        raise validation_error({name: f"must be {what}"})
    return value


def _report() -> bytes:
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", "send the report as multipart/form-data "
                       "with the file in the 'file' field")  # fmt: skip
    limit = int(current_app.config["EVIDENCE_MAX_BYTES"])
    request.max_content_length = limit + _OVERHEAD
    upload = request.files.get("file")
    if upload is None:
        raise validation_error({"file": "the report file is required"})
    raw = upload.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(413, "payload_too_large", f"the report is over the {limit} byte limit "
                       "([auditor] evidence_max_size)", [{"field": "file", "message":
                       f"larger than {limit} bytes"}])  # fmt: skip
    return raw


def _options(service_id: str, item: str) -> EvidenceOptions:
    checks = evidence_checks(get_store(), service_id)
    items: dict[str, EvidenceOptions] = {}
    for chk in checks:
        try:
            opts = EvidenceOptions.model_validate(chk.options)
        except ValidationError:
            continue  # the check itself reports its broken options
        items.setdefault(opts.item, opts)
    if item not in items:
        known = ", ".join(repr(i) for i in sorted(items)) or "none (add an evidence check)"
        raise validation_error({"item": f"unknown item {item!r}; this service's evidence "
                                f"items: {known}"})  # fmt: skip
    return items[item]


@route(bp, "/services/{service_id}/evidence", "POST", op_id="pushEvidence",
       summary="Push a CI/CD report (multipart: file, item, format, commit, version)",
       tag="evidence", role="viewer", scope="evidence", response=EvidenceOut, status=201,
       location="/services/{service_id}/evidence/{id}/report",
       errors=(403, 404, 413, 415, 422),
       description="Needs a token with the evidence scope. The report is parsed and judged by "
       "the rules of the service's evidence check for the item; a bad report stores nothing.",
       )  # fmt: skip
def push_evidence(service_id: str) -> Response:
    pushed_by, token_id = _pusher()
    raw = _report()
    unknown = sorted(set(request.form) - {"item", "format", "commit", "version"})
    if unknown:
        raise validation_error({unknown[0]: "unknown form field"})
    item = (request.form.get("item") or "").strip()
    if not item:
        raise validation_error({"item": "name the checklist item this report proves"})
    commit = _field("commit", _COMMIT, "a commit id or ref (letters, digits, . _ / -)")
    version = _field("version", _VERSION, "a version without spaces (at most 128 characters)")
    opts = _options(service_id, item)
    declared = request.form.get("format") or None
    try:
        fmt, summary = parse_report(raw, declared)
    except ReportError as exc:
        field = (
            "format" if exc.problem in ("wrong_format", "unknown_format") and declared else "file"
        )
        raise ApiError(422, f"report_{exc.problem}", exc.message,
                       [{"field": field, "message": exc.message}]) from exc  # fmt: skip
    if fmt not in opts.accepted_formats():
        msg = (
            f"a {fmt} report does not prove {item!r}; it takes {', '.join(opts.accepted_formats())}"
        )
        raise ApiError(422, "report_wrong_format", msg, [{"field": "file", "message": msg}])
    broken = judge(summary, parse_rules(opts.rules))
    now = utcnow()
    row = Evidence(service_id=service_id, item=item, format=fmt,
                   verdict="fail" if broken else "pass", summary=summary, pushed_by=pushed_by,
                   token_id=token_id, commit=commit, version=version, report=raw,
                   report_size=len(raw), report_sha256=hashlib.sha256(raw).hexdigest(),
                   pushed_at=now, created_at=now, updated_at=now)  # fmt: skip
    add_evidence(get_store(), row)
    data = _json(row)
    data["summary"] = {**summary, "broken": [m for _, m in broken]}
    return ok(data, 201)


@route(bp, "/services/{service_id}/evidence", "GET", op_id="listEvidence",
       summary="List a service's pushed evidence, newest first", tag="evidence",
       response=EvidenceOut, many=True, list_spec=LIST_SPEC)  # fmt: skip
def list_evidence(service_id: str) -> Response:
    page, _sort, filters = parse_list_args(LIST_SPEC)
    rows, total = list_rows(get_store(), service_id, item=filters.get("item"),
                            offset=page.offset, limit=page.limit)  # fmt: skip
    return listing([_json(r) for r in rows], page, total)


@route(bp, "/services/{service_id}/evidence/{evidence_id}/report", "GET",
       op_id="getEvidenceReport", summary="The stored report, as it was pushed",
       tag="evidence")  # fmt: skip
def evidence_report(service_id: str, evidence_id: str) -> Response:
    row = get_evidence(get_store(), service_id, evidence_id)
    media = {"junit-xml": "application/xml", "wrk": "text/plain", "locust-csv": "text/csv",
             "jmeter-jtl": "text/csv"}.get(row.format, "application/json")  # fmt: skip
    ext = {"application/xml": "xml", "text/plain": "txt", "text/csv": "csv"}.get(media, "json")
    response = current_app.response_class(row.report, status=200, mimetype=media)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{row.item}-{row.id[:8]}.{ext}"'.replace("/", "_"))  # fmt: skip
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@route(bp, "/services/{service_id}/deploys", "POST", op_id="pushDeploy",
       summary="Record a deploy (version, commit): older evidence goes stale", tag="evidence",
       role="viewer", scope="evidence", body=DeployIn, response=DeployOut, status=201, errors=(403, 404, 422))  # fmt: skip
def push_deploy(service_id: str, body: DeployIn) -> Response:
    pushed_by, _ = _pusher()
    if not _VERSION.match(body.version):
        raise validation_error({"version": "must be a version without spaces (at most 128)"})
    if body.commit is not None and not _COMMIT.match(body.commit):
        raise validation_error({"commit": "must be a commit id or ref"})
    now = utcnow()
    row = DeployEvent(service_id=service_id, version=body.version, commit=body.commit,
                      pushed_by=pushed_by, at=now, created_at=now, updated_at=now)  # fmt: skip
    add_deploy(get_store(), row)
    return ok(DeployOut.model_validate(row.model_dump()).model_dump(mode="json"), 201)
