"""Reading an operator's own API (Prometheus, Alertmanager, Loki, Elasticsearch) through the prober.

Shared by the ``monitoring`` and ``logging`` kinds: the options that name credentials (only
ever the *names* of environment variables), the ``Authorization`` header built from them,
and one GET that returns parsed JSON. Every request goes through ``ctx.http`` (address
policy, deadline, body cap); redirects are refused rather than followed, so credentials
never travel to a host the configuration did not name. No credential value enters a
message: anything the remote end says is masked before it becomes an error.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from pydantic import field_validator, model_validator

from checks.base import Options, ProbeContext, ProbeError
from checks.units import parse_duration

#: most bytes of one API answer read (rules and Alertmanager configurations can be large)
API_BODY_CAP = 8 * 1024 * 1024
#: longest remote error text kept in a message
MAX_REMOTE_TEXT = 300
MASK = "********"
#: how far back a ``window`` may look: 1 minute to 7 days
MIN_WINDOW = 60.0
MAX_WINDOW = 7 * 86400.0

#: what a failed call to the operator's API is, per prober error kind: both kinds report
#: it under the same codes
REMOTE_ERROR_CODES: dict[str, str] = {
    "refused": "unreachable",
    "dns": "unreachable",
    "reset": "unreachable",
    "unreachable": "unreachable",
    "tls": "unreachable",
    "blocked_by_policy": "blocked_by_policy",
    "body_too_large": "invalid_response",
    "too_many_redirects": "invalid_response",
    "invalid_response": "invalid_response",
    "unauthorized": "unauthorized",
    "query_failed": "query_failed",
}


def parse_window(value: Any) -> float:
    """A ``window`` option in seconds, refused outside 1m..7d."""
    seconds = parse_duration(value)
    if not MIN_WINDOW <= seconds <= MAX_WINDOW:
        raise ValueError("window must be between 1m and 7d")
    return seconds


def check_base_url(value: str, field: str) -> str:
    """An ``http(s)://host[:port][/prefix]`` base URL: no credentials, query or fragment."""
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{field} must be an http:// or https:// URL, got {value!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"{field} must not carry credentials; use username / password_env or token_env"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{field} must be a base URL without a query or fragment")
    return text.rstrip("/")


def _env_name(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if not value.strip() or "://" in value or any(c.isspace() for c in value):
        raise ValueError(
            f"{field} names the environment variable holding the secret, not the secret itself"
        )
    return value


class RemoteOptions(Options):
    """Credentials and trust for the operator's API; config-file tier only (checks/tiers.py).

    Attributes:
        token_env: environment variable holding a bearer token.
        username: basic-auth user (needs ``password_env``).
        password_env: environment variable holding the basic-auth password.
        verify: verify the API's TLS certificate.
        ca_file: a private CA bundle for the API.
    """

    token_env: str | None = None
    username: str | None = None
    password_env: str | None = None
    verify: bool = True
    ca_file: str | None = None

    @field_validator("token_env")
    @classmethod
    def _token_env(cls, value: str | None) -> str | None:
        return _env_name(value, "token_env")

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str | None) -> str | None:
        return _env_name(value, "password_env")

    @model_validator(mode="after")
    def _one_scheme(self) -> RemoteOptions:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together (basic auth)")
        if self.token_env is not None and self.username is not None:
            raise ValueError("use either token_env (bearer) or username / password_env, not both")
        return self


@dataclass(frozen=True)
class Credentials:
    """The resolved ``Authorization`` header and the values to mask from any message."""

    headers: dict[str, str]
    secrets: tuple[str, ...] = ()

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, MASK)
        return text


def credentials(options: RemoteOptions, ctx: ProbeContext) -> Credentials:
    """Read the named variables now; a name that is not set is a ``config`` error."""
    if options.token_env is not None:
        token = ctx.environ.get(options.token_env)
        if not token:
            raise ProbeError("config", f"token_env names {options.token_env}, which is not set")
        return Credentials({"Authorization": f"Bearer {token}"}, (token,))
    if options.username is not None and options.password_env is not None:
        password = ctx.environ.get(options.password_env)
        if not password:
            raise ProbeError(
                "config", f"password_env names {options.password_env}, which is not set"
            )
        pair = base64.b64encode(f"{options.username}:{password}".encode()).decode("ascii")
        return Credentials({"Authorization": f"Basic {pair}"}, (password, pair))
    return Credentials({})


@dataclass(frozen=True)
class Answer:
    """One API answer: status and the parsed JSON (None when the body was not JSON)."""

    status: int
    data: Any
    text: str


async def get_json(
    ctx: ProbeContext,
    base: str,
    path: str,
    params: dict[str, str] | None,
    *,
    what: str,
    creds: Credentials,
    options: RemoteOptions,
    extra_headers: dict[str, str] | None = None,
) -> Answer:
    """GET ``base + path?params`` and parse JSON; 3xx, 401 and 403 raise with a fix."""
    url = base + path + (f"?{urlencode(params)}" if params else "")
    result = await ctx.http.fetch(
        url,
        headers={"Accept": "application/json", **(extra_headers or {}), **creds.headers},
        timeout=max(0.1, ctx.remaining()),
        verify=options.verify,
        ca_file=options.ca_file,
        follow_redirects=False,
        body_cap=API_BODY_CAP,
    )
    text = creds.mask(result.text())
    if 300 <= result.status < 400:
        where = result.header("location") or "?"
        raise ProbeError(
            "invalid_response",
            f"{what} at {base} redirected to {creds.mask(where)[:200]}; "
            "set the URL to the address that answers",
        )
    if result.status in (401, 403):
        raise ProbeError(
            "unauthorized",
            f"{what} at {base} refused the request (HTTP {result.status}); "
            "set token_env, or username and password_env, to a read-only credential",
        )
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    return Answer(result.status, data, text)


def remote_text(answer: Answer) -> str:
    """What the remote end said about an error, short and on one line."""
    data = answer.data
    if isinstance(data, dict):
        for key in ("error", "message", "reason"):
            value = data.get(key)
            if isinstance(value, dict):
                value = value.get("reason") or value.get("type")
            if isinstance(value, str) and value:
                return " ".join(value.split())[:MAX_REMOTE_TEXT]
    return " ".join(answer.text.split())[:MAX_REMOTE_TEXT] or f"HTTP {answer.status}"
