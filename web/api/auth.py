"""Bearer-token authentication with roles, and the in-process rate limiter.

``Authorization: Bearer <token>``: opaque random tokens stored as SHA-256 hashes
(``auditor.store.accounts``); missing or invalid → 401, a role below the operation's → 403.

Rate limiting is an in-process token bucket per authenticated token (its id) or, without
a valid one, per client address: ``API_RATE_LIMIT`` requests (default 300) refilled
evenly over ``API_RATE_WINDOW`` seconds (default 60). Every answer carries
``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``; an empty bucket is a
429 with ``Retry-After``. Being per process, N web processes allow N times the budget —
put a shared limiter in the proxy when that matters.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from flask import current_app, g, request

from auditor.store.accounts import role_at_least, verify_token
from auditor.store.models import ApiToken
from web.api.envelope import ApiError
from web.context import get_store


def _credential() -> str | None:
    """The presented bearer credential, or None when absent or not a bearer header."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return None
    return credential


def presented_token() -> ApiToken | None:
    """The live token this request presents, looked up once per request (None if invalid)."""
    if "api_presented_token" in g:
        cached: ApiToken | None = g.api_presented_token
        return cached
    credential = _credential()
    token = None
    if credential is not None and len(credential) <= 256 and credential.isascii():
        token = verify_token(get_store(), credential)
    g.api_presented_token = token
    return token


def authenticate(role: str) -> ApiToken:
    challenge = {"WWW-Authenticate": 'Bearer realm="auditor"'}
    if _credential() is None:
        raise ApiError(401, "unauthorized", "a bearer token is required", headers=challenge)
    token = presented_token()
    if token is None:
        raise ApiError(401, "unauthorized", "invalid or expired token", headers=challenge)
    g.api_token = token
    if not role_at_least(token.role, role):
        raise ApiError(403, "forbidden", f"this operation needs the {role} role")
    return token


def current_token() -> ApiToken | None:
    token: ApiToken | None = g.get("api_token")
    return token


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = max(1, limit)
        self.rate = self.limit / max(window_s, 0.001)
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> tuple[bool, dict[str, str]]:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._buckets) > 50_000:
                self._prune(now)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(self.limit), now)
            allowed, bucket.tokens = self.take(bucket.tokens, bucket.stamp, now)
            bucket.stamp = now
            tokens = bucket.tokens
        return allowed, self.headers(allowed, tokens)

    def take(self, tokens: float, stamp: float, now: float) -> tuple[bool, float]:
        """Refill a bucket last seen at ``stamp`` and take one token if there is one."""
        tokens = min(self.limit, tokens + (now - stamp) * self.rate)
        if tokens >= 1.0:
            return True, tokens - 1.0
        return False, tokens

    def headers(self, allowed: bool, tokens: float) -> dict[str, str]:
        """The ``RateLimit-*`` (and, when refused, ``Retry-After``) response headers."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(int(tokens)),
            "RateLimit-Reset": str(math.ceil((self.limit - tokens) / self.rate)),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil((1.0 - tokens) / self.rate)))
        return headers

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self.rate >= self.limit
        ]
        for k in full:
            del self._buckets[k]


def limiter() -> RateLimiter:
    ext = current_app.extensions
    lim: RateLimiter | None = ext.get("auditor.api.ratelimiter")
    if lim is None:
        lim = RateLimiter(
            int(current_app.config.get("API_RATE_LIMIT", 300)),
            float(current_app.config.get("API_RATE_WINDOW", 60.0)),
        )
        ext["auditor.api.ratelimiter"] = lim
    return lim


def rate_limit_key() -> str:
    """Per token once a credential authenticates; otherwise (none, or an invalid one) per
    client address — so made-up bearer values share their address's bucket."""
    token = presented_token() if _credential() is not None else None
    if token is not None:
        return "token:" + token.id
    return "addr:" + (request.remote_addr or "unknown")


def check_rate_limit() -> None:
    allowed, headers = limiter().hit(rate_limit_key())
    g.api_ratelimit_headers = headers
    if not allowed:
        raise ApiError(429, "rate_limited", "too many requests; retry later", headers=headers)
