"""Request and response models of the REST API.

These pydantic models are the single source of truth: request bodies are validated
against their JSON Schema (so the OpenAPI document cannot drift from what is accepted)
and then by the model itself; ``openapi.py`` renders the same schemas into the document.
Every request model forbids unknown keys (422 with one ``details`` entry per bad field).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from checks.bounds import MAX_INTERVAL_S, MIN_INTERVAL_S
from checks.registry import known_kinds
from checks.tiers import API_BODY_KEEP, API_METHODS, describe_config_only
from web.api.body import bounded_body, parse_json
from web.api.envelope import ApiError

SLUG_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
URL_PATTERN = r"^https?://[^/\s]+"
ROLE = Literal["viewer", "operator", "admin"]
SEVERITY = Literal["critical", "high", "medium", "low", "info"]
LEVEL = Literal["bronze", "silver", "gold"]
STATE = Literal["pass", "warn", "fail", "error", "unknown"]
RUN_STATUS = Literal["pass", "warn", "fail", "error"]
KIND = Literal[tuple(known_kinds())]  # type: ignore[valid-type]

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, min_length=1, max_length=63)]
HttpUrl = Annotated[str, Field(pattern=URL_PATTERN, min_length=8, max_length=2048)]
Label = Annotated[str, Field(min_length=1, max_length=63, pattern=r"^[^\x00-\x1f\x7f]+$")]
Text = Annotated[str, Field(max_length=2000)]


def _seconds(low: float, high: float, *, exclusive: bool = False) -> WithJsonSchema:
    """The documented range of a duration given as a number; the range itself is enforced
    with the config file's messages (``must be at most 7d``) by ``build_check``."""
    bound = "exclusiveMinimum" if exclusive else "minimum"
    return WithJsonSchema({"type": "number", bound: low, "maximum": high})


def _described(what: str) -> Any:
    return Field(description=f'{what}: seconds or a duration string ("30s", "5m", "1h", "2d")')


Interval = Annotated[
    Annotated[float, _seconds(MIN_INTERVAL_S, MAX_INTERVAL_S)] | str, _described("1s to 7d")
]
Timeout = Annotated[
    Annotated[float, _seconds(0, MAX_INTERVAL_S, exclusive=True)] | str,
    _described("more than 0, at most the interval"),
]
Jitter = Annotated[
    Annotated[float, _seconds(0, MAX_INTERVAL_S)] | str, _described("0 to the interval")
]
Uuid = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        json_schema_extra={"format": "uuid"},
    ),
]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- services -----------------------------------------------------------------------------


class ServiceCreate(In):
    """A service, as in a ``[[services]]`` table (without its checks)."""

    name: Slug
    url: HttpUrl
    environment: Label = "production"
    owner: Annotated[str, Field(max_length=255)] = ""
    tags: Annotated[list[Label], Field(max_length=50)] = []
    profile: Literal["production", "none"] | None = None
    public: bool = False
    description: Text = ""
    enabled: bool = True


class ServicePatch(In):
    """Partial update: only the keys given change."""

    name: Slug | SkipJsonSchema[None] = None
    url: HttpUrl | SkipJsonSchema[None] = None
    environment: Label | SkipJsonSchema[None] = None
    owner: Annotated[str, Field(max_length=255)] | SkipJsonSchema[None] = None
    tags: Annotated[list[Label], Field(max_length=50)] | SkipJsonSchema[None] = None
    profile: Literal["production", "none"] | None = None
    public: bool | SkipJsonSchema[None] = None
    description: Text | SkipJsonSchema[None] = None
    enabled: bool | SkipJsonSchema[None] = None


class SourceOut(Out):
    """Where a discovered service was found: the file (``path``) or endpoint (``url``)."""

    type: Literal["file_sd", "http_sd", "backstage"]
    path: str | None
    url: str | None


class ServiceOut(Out):
    id: str
    name: str
    url: str
    environment: str
    owner: str
    tags: list[str]
    profile: str | None
    public: bool
    description: str
    enabled: bool
    source: str | SourceOut = Field(
        description='"config" or "api"; for a discovered service where it was found: '
        '{"type": "file_sd" | "http_sd" | "backstage", "path": file, "url": endpoint}'
    )
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


# -- checks -------------------------------------------------------------------------------

_OPTIONS_DOC = (
    "The kind's options, validated like a [[services.checks]] table but with the restricted "
    "API-tier schema (README, Security model): no commands, file-system paths or globs, PIDs, "
    "or *_env names outside [security] api_env_allowlist; HTTP methods "
    f"{'/'.join(API_METHODS)} only, no request body, no Host (routing) header; at most "
    f"{API_BODY_KEEP} bytes of stored body (body_keep); numbers within their documented range. "
    "Options only the config file may set (x-config-only, per kind) answer 422 naming the field."
)
ApiOptions = Annotated[
    dict[str, Any],
    Field(
        description=_OPTIONS_DOC,
        json_schema_extra={"x-config-only": describe_config_only()},  # type: ignore[dict-item]
    ),
]


class CheckCreate(In):
    """A check, as in a ``[[services.checks]]`` table; kind options go under ``options``.

    ``options`` is validated by the kind's own options model exactly like the config file
    (unknown keys are an error). Secret-bearing options (DSNs, URLs with credentials,
    ``Authorization`` headers, ``*_secret``/``*_token``/``*_password`` keys) are encrypted at
    rest and shown as ``********``; sending ``********`` back keeps the stored value.
    """

    kind: KIND  # type: ignore[valid-type]
    name: Slug | SkipJsonSchema[None] = None
    interval: Interval | SkipJsonSchema[None] = None
    schedule: Annotated[str, Field(max_length=120)] | SkipJsonSchema[None] = None
    timeout: Timeout | SkipJsonSchema[None] = None
    jitter: Jitter = 0.0
    severity: SEVERITY = "high"
    level: LEVEL = "bronze"
    failure_threshold: Annotated[int, Field(ge=1, le=100)] = 2
    success_threshold: Annotated[int, Field(ge=1, le=100)] = 1
    consecutive_error_limit: Annotated[int, Field(ge=1, le=1000)] = 4
    enabled: bool = True
    blocking: bool = False
    description: Text = ""
    options: ApiOptions = {}


class CheckPatch(In):
    """Partial update; ``options`` (when given) replaces the whole options table."""

    name: Slug | SkipJsonSchema[None] = None
    interval: Interval | SkipJsonSchema[None] = None
    schedule: Annotated[str, Field(max_length=120)] | None = None
    timeout: Timeout | SkipJsonSchema[None] = None
    jitter: Jitter | SkipJsonSchema[None] = None
    severity: SEVERITY | SkipJsonSchema[None] = None
    level: LEVEL | SkipJsonSchema[None] = None
    failure_threshold: Annotated[int, Field(ge=1, le=100)] | SkipJsonSchema[None] = None
    success_threshold: Annotated[int, Field(ge=1, le=100)] | SkipJsonSchema[None] = None
    consecutive_error_limit: Annotated[int, Field(ge=1, le=1000)] | SkipJsonSchema[None] = None
    enabled: bool | SkipJsonSchema[None] = None
    blocking: bool | SkipJsonSchema[None] = None
    description: Text | SkipJsonSchema[None] = None
    options: ApiOptions | SkipJsonSchema[None] = None


class Finding(Out):
    code: str
    severity: str
    message: str


class CheckStateOut(Out):
    state: STATE
    raw_status: str | None
    since: datetime | None
    last_run_id: str | None
    last_run_at: datetime | None
    last_duration_ms: float | None
    last_summary: str
    last_findings: list[Finding]
    last_error_kind: str | None
    consecutive_fail: int
    consecutive_pass: int
    runs_total: int


class CheckOut(Out):
    id: str
    service_id: str
    name: str
    kind: str
    options: dict[str, Any]
    secret_fields: list[str] = Field(description="option paths stored encrypted, shown redacted")
    interval: float
    schedule: str | None
    timeout: float
    jitter: float
    severity: str
    level: str
    failure_threshold: int
    success_threshold: int
    consecutive_error_limit: int
    enabled: bool
    blocking: bool
    description: str
    source: str
    heartbeat_token: str | None = Field(
        description="backups checks: the ping token (operators and admins only)"
    )
    next_run_at: datetime | None
    locations: list[str] = Field(
        default=[], description="probe locations that each run the check (config file only)"
    )
    quorum: int | None = Field(
        default=None, description="failing locations that make the check fail (with locations)"
    )
    state: CheckStateOut | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class RunOut(Out):
    id: str
    check_id: str
    service_id: str
    status: RUN_STATUS
    summary: str
    findings: list[Finding]
    facts: dict[str, Any]
    duration_ms: float
    started_at: datetime
    due_at: datetime
    error: str | None
    error_kind: str | None
    worker: str | None
    #: the probe location of this run ("" for a check without locations)
    location: str = ""
    created_at: datetime


# -- readiness ----------------------------------------------------------------------------


class ReadinessOut(BaseModel):
    """DESIGN §6; extra keys from the readiness engine are passed through."""

    model_config = ConfigDict(extra="allow")

    service_id: str
    score: float | None
    verdict: Literal["ready", "ready_with_warnings", "not_ready", "unknown"]
    level: str | None


# -- attestations, waivers ----------------------------------------------------------------


class AttestationCreate(In):
    service_id: Uuid
    #: one of the service's checklist items (its attestation checks' ``item``)
    item: Annotated[
        str,
        Field(
            min_length=1,
            max_length=255,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="a checklist item of the service (an attestation check's item)",
        ),
    ]
    #: not part of the schema: the signer is always the authenticated principal; a body that
    #: names one is refused (``web.api.attestations``) rather than silently rewritten
    signed_by: SkipJsonSchema[Any] = None
    evidence_url: HttpUrl | None = None
    comment: Text = ""
    signed_at: AwareDatetime | SkipJsonSchema[None] = None
    expires_at: AwareDatetime | None = None


class AttestationOut(Out):
    id: str
    service_id: str
    item: str
    signed_by: str
    evidence_url: str | None
    comment: str
    signed_at: datetime
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class WaiverCreate(In):
    check_id: Uuid
    reason: Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
    expires_at: AwareDatetime


class WaiverOut(Out):
    id: str
    check_id: str
    reason: str
    created_by: str
    expires_at: datetime
    active: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


# -- transitions, alert deliveries ----------------------------------------------------------


class TransitionOut(Out):
    id: str
    check_id: str
    service_id: str
    previous_state: str
    state: str
    reason: str
    run_id: str | None
    findings: list[Finding]
    at: datetime
    processed_at: datetime | None
    created_at: datetime


class AlertDeliveryOut(Out):
    id: str
    transition_id: str
    receiver: str
    purpose: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


# -- heartbeats ---------------------------------------------------------------------------


class HeartbeatOut(Out):
    id: str
    check_id: str
    kind: Literal["start", "success", "fail", "exit"]
    exit_code: int | None
    at: datetime


# -- tokens, users ------------------------------------------------------------------------


class TokenCreate(In):
    name: Slug
    role: ROLE
    #: default ``[web] token_ttl`` from now; at most ``[web] token_max_ttl`` ahead
    expires_at: AwareDatetime | None = None
    #: grants beyond the role: ``evidence`` may push CI/CD evidence and deploy events
    scopes: list[Literal["evidence"]] = Field([], max_length=1)


class TokenOut(Out):
    id: str
    name: str
    role: str
    prefix: str
    created_by: str
    creator_user_id: str | None
    scopes: list[str] = []
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown once, store it now")


class UserCreate(In):
    username: Slug
    role: ROLE
    password: Annotated[str, Field(min_length=12, max_length=1024)]


class UserPatch(In):
    role: ROLE | SkipJsonSchema[None] = None
    password: Annotated[str, Field(min_length=12, max_length=1024)] | SkipJsonSchema[None] = None


class UserOut(Out):
    id: str
    username: str
    role: str
    mfa_enabled: bool
    password_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


M = TypeVar("M", bound=BaseModel)


# -- validation -----------------------------------------------------------------------------


@cache
def _non_nullable(model: type[BaseModel]) -> frozenset[str]:
    """Fields whose documented schema does not allow ``null`` (even if the model defaults to None)."""
    props = model.model_json_schema(mode="validation").get("properties", {})
    out = set()
    for name, prop in props.items():
        variants = prop.get("anyOf", [prop])
        if not any(v.get("type") == "null" for v in variants):
            out.add(name)
    return frozenset(out)


_TYPE_PARTS = {"float", "str", "int", "bool", "none", "list", "dict", "datetime", "literal"}


def _field(loc: Any) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        text = str(part)
        if text in _TYPE_PARTS or not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", text):
            continue
        out += f".{text}" if out else text
    return out or "body"


def _has_bad_text(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_bad_text(k) or _has_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_bad_text(v) for v in value)
    return False


def read_json() -> Any:
    raw = bounded_body()
    if not raw.strip():
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    try:
        data = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", "the request body is not valid JSON") from exc
    if _has_bad_text(data):
        raise ApiError(
            400, "invalid_json", "strings must not contain NUL or unpaired surrogate characters"
        )
    return data


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "list_type": "must be an array",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "literal_error": "is not one of the allowed values",
    "timezone_aware": "must include a timezone offset (RFC 3339)",
}


def validate_body(model: type[M]) -> M:
    """The JSON request body as ``model``, validated strictly (no type coercion, so exactly what
    the model's JSON Schema in the OpenAPI document allows); one detail per bad field."""
    data = read_json()
    details: dict[str, str] = {}
    if isinstance(data, dict):
        for name in _non_nullable(model):
            if name in data and data[name] is None:
                details[name] = "must not be null"
    if details:
        raise validation_error(details)
    try:
        return model.model_validate_json(request.get_data(cache=True), strict=True)
    except ValidationError as exc:
        for e in exc.errors():
            kind = e.get("type", "")
            msg = _MESSAGES.get(kind) or str(e.get("msg", "is invalid"))
            details.setdefault(_field(e["loc"]), msg)
        raise validation_error(details) from exc


def validation_error(details: dict[str, str]) -> ApiError:
    return ApiError(
        422,
        "validation_failed",
        "the request is invalid",
        [{"field": k, "message": v} for k, v in details.items()],
    )
