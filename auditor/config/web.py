"""The ``[web]`` table: who may speak for the client (trusted proxies) and API token lifetimes.

``X-Forwarded-For`` / ``X-Forwarded-Proto`` are honoured only when the connecting peer is in
``trusted_proxies``; from anyone else they are ignored, so a client cannot pick the address
that login throttling and the audit log see, nor fake HTTPS.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from pydantic import field_validator, model_validator

from auditor.config.fields import Duration, StrictModel, require_cidrs

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: how long a token made through the API or dashboard may live at most, unless configured
DEFAULT_TOKEN_MAX_TTL = 365 * 86400.0


class WebSettings(StrictModel):
    """The ``[web]`` table (all optional)."""

    #: CIDRs of reverse proxies whose X-Forwarded-For/-Proto headers are believed
    trusted_proxies: list[str] = []
    #: lifetime of a new API token when its creator names none (CLI, API and dashboard)
    token_ttl: Duration = 90 * 86400.0
    #: the longest lifetime the API and dashboard grant; only the CLI may make a token
    #: that never expires (``auditor token create --expires never``)
    token_max_ttl: Duration = DEFAULT_TOKEN_MAX_TTL

    @field_validator("trusted_proxies")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        return require_cidrs(value)

    @field_validator("token_ttl", "token_max_ttl")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive duration")
        return value

    @model_validator(mode="after")
    def _ttl_within_max(self) -> WebSettings:
        if self.token_ttl > self.token_max_ttl:
            raise ValueError("token_ttl must not exceed token_max_ttl")
        return self

    def proxy_networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(c, strict=False) for c in self.trusted_proxies)

    def token_expiry(self, requested: datetime | None, now: datetime) -> datetime:
        """When a token made through the API or dashboard expires: ``token_ttl`` from now
        unless ``requested``; ValueError (the message for the ``expires_at`` field) for a
        time not in the future or beyond ``token_max_ttl``. Never "never": that is the
        CLI's, the config tier's, to grant."""
        if requested is None:
            return now + timedelta(seconds=self.token_ttl)
        if requested <= now:
            raise ValueError("must be in the future")
        if requested > now + timedelta(seconds=self.token_max_ttl):
            days = self.token_max_ttl / 86400
            raise ValueError(
                f"must be at most {days:g} days ahead ([web] token_max_ttl); "
                "a token that never expires can only be made with `auditor token create`"
            )
        return requested
