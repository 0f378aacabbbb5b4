"""What a check may know of the prober: the calls it makes on ``ctx.http`` and what they return.

checks/ imports this module (and ``outcome``) from auditor/, never the implementation
(``auditor.probe.http`` and its helpers), so the prober can change without touching a
check and a check can be run against any object that keeps these promises.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

DEFAULT_BODY_CAP = 1_000_000
DEFAULT_MAX_REDIRECTS = 10
REDIRECT_STATUSES = {301, 302, 303, 307, 308}

#: which trust store a verifying context loaded: (kind, path, mtime_ns, size)
TrustKey = tuple[str, str, int, int]


@dataclass
class Hop:
    """One response in a redirect chain."""

    url: str
    status: int
    location: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "status": self.status, "location": self.location}


@dataclass
class HttpResult:
    """A finished request: final response, the chain that led to it, and timings."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    elapsed_ms: float
    chain: list[Hop] = field(default_factory=list)
    http_version: str = ""
    peer: str | None = None
    truncated: bool = False
    #: per-phase clocks of the last hop, ms from its start (dns, connect, tls, first_byte,
    #: total) when the engine measures them (the libcurl engine); empty otherwise
    timings: dict[str, float] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """First value of a header (case-insensitive), or None."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Session:
    """What one completed handshake showed: protocol, cipher and the chain as sent."""

    protocol: str | None
    cipher: str | None
    cipher_bits: int | None
    chain_der: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class TlsObservation:
    """One completed, verified handshake an HTTP probe made."""

    host: str
    port: int
    trust: TrustKey
    address: str
    session: Session
    seen_at: float  # time.monotonic()

    def age(self) -> float:
        return time.monotonic() - self.seen_at


class AddressVerdicts(Protocol):
    """The address policy: None when an address may be connected to, else why not."""

    def verdict(self, address: str) -> str | None: ...


class TlsHandshakes(Protocol):
    """What the ``tls`` check needs for its own handshakes and to reuse a probe's."""

    def strict_context(self, ca_file: str | None) -> ssl.SSLContext:
        """The context a careful client verifies with (shared with the prober's clients)."""
        ...

    def strict_trust(self, ca_file: str | None) -> TrustKey | None:
        """The trust key of :meth:`strict_context` now (None: the store cannot be loaded)."""
        ...

    def session_of(self, ssl_object: Any) -> Session:
        """What a connected ``ssl.SSLObject``/``SSLSocket`` shows."""
        ...

    async def shared(
        self, host: str, port: int, trust: TrustKey | None, addresses: list[str], wait_s: float
    ) -> TlsObservation | None:
        """A fresh verified handshake a probe made to this host, else None."""
        ...


@dataclass(frozen=True)
class DsnHost:
    """One server a DSN names: a host name, an IP literal or a socket path ("" = default socket).

    ``hostaddr`` is libpq's numeric address for that entry; when set, it is what is connected.
    """

    host: str
    port: int
    hostaddr: str = ""

    @property
    def target(self) -> str:
        """What the driver actually connects to."""
        return self.hostaddr or self.host

    @property
    def is_socket(self) -> bool:
        return not self.target or self.target.startswith(("/", "@"))


@dataclass(frozen=True)
class Endpoint:
    """A DSN host the policy allowed, with the address to pin (None for a local socket)."""

    host: DsnHost
    address: str | None


class Prober(Protocol):
    """The shared, policy-enforcing prober a check reaches as ``ctx.http``."""

    @property
    def policy(self) -> AddressVerdicts: ...

    @property
    def tls(self) -> TlsHandshakes: ...

    async def allowed_addresses(self, host: str, port: int) -> list[str]:
        """Addresses of ``host`` the policy allows; raises ``dns`` / ``blocked_by_policy``."""
        ...

    def database_endpoints(self, dsn: str) -> list[Endpoint]:
        """Every server ``dsn`` names, each pinned to an address the policy allows.

        Blocking (it resolves names): call it from a worker thread. Raises ``dns`` /
        ``blocked_by_policy`` before any connection is opened."""
        ...

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        timeout: float = 10.0,
        verify: bool = True,
        ca_file: str | None = None,
        follow_redirects: bool = True,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        body_cap: int = DEFAULT_BODY_CAP,
        truncate: bool = False,
        read_body: bool = True,
    ) -> HttpResult:
        """One request, redirects followed hop by hop, the body read up to ``body_cap``."""
        ...
