"""The shared HTTP prober: pooled, policy-enforcing clients and the request loop.

httpx has no total deadline and no body cap (``reference/security.md`` §2.6), and it
resolves names itself. Clients connect through ``transport.PolicyBackend`` (the address
policy at connect time); ``HttpProber.fetch`` follows redirects hop by hop so each hop is
recorded and re-checked, and reads the body through ``body.read_capped``. The runner wraps
each probe in the total wall-clock deadline.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from auditor.probe.addresses import AddressPolicy
from auditor.probe.body import read_capped
from auditor.probe.dsn_hosts import allowed_endpoints
from auditor.probe.errors import classify_exception
from auditor.probe.handshakes import HandshakeLedger, LedgerKey
from auditor.probe.interface import (
    DEFAULT_BODY_CAP,
    DEFAULT_MAX_REDIRECTS,
    REDIRECT_STATUSES,
    Endpoint,
    Hop,
    HttpResult,
    TlsObservation,
    TrustKey,
)
from auditor.probe.outcome import ProbeError, RunStatus
from auditor.probe.tls_context import ProberTls, ssl_context_and_trust
from auditor.probe.transport import PolicyBackend, admit, ip_literal, resolve

USER_AGENT = "deployment-auditor/0.1 (+readiness probe)"
KEEPALIVE_CONNECTIONS = 20
MAX_POOLS = 4096


class HttpProber:
    """Shared, policy-enforcing HTTP client factory for all HTTP-based checks.

    Clients are cached per TLS setting so checks reuse connection pools instead of
    building a client per probe.
    """

    def __init__(
        self,
        policy: AddressPolicy | None = None,
        *,
        resolver: Any = None,
        max_connections: int = 200,
        share_handshakes: bool = True,
        source_address: str | None = None,
    ) -> None:
        self.policy = policy or AddressPolicy()
        self.source_address = source_address  # bind probes here (``--source-address``)
        self._resolver = resolver
        self._max_connections = max_connections
        self._closing: set[asyncio.Task[None]] = set()
        self._clients: dict[tuple[bool, str | None, str], httpx.AsyncClient] = {}
        #: verified handshakes of new connections, for the tls check (``auditor.probe.handshakes``)
        self.handshakes = HandshakeLedger()
        self.tls = ProberTls(self.handshakes)
        self._share = share_handshakes
        self._trust: dict[tuple[bool, str | None, str], TrustKey | None] = {}

    def client(
        self, verify: bool = True, ca_file: str | None = None, origin: str = ""
    ) -> httpx.AsyncClient:
        """The pooled client for one TLS setting and origin.

        httpcore scans every connection of a pool on each request, so one pool per origin
        keeps that scan short when many checks run at once.
        """
        key = (verify, ca_file, origin)
        client = self._clients.get(key)
        if client is None:
            if len(self._clients) >= MAX_POOLS:
                self._evict()
            ctx, trust = ssl_context_and_trust(verify, ca_file)
            if not self._share:
                trust = None
            backend = PolicyBackend(
                self.policy,
                self._resolver,
                ledger=self.handshakes if trust is not None else None,
                trust=trust,
                source_address=self.source_address,
            )
            client = _pooled_client(ctx, backend, self._max_connections)
            self._clients[key] = client
            self._trust[key] = trust
        return client

    def _evict(self) -> None:
        """Close the oldest half of the pools (a daemon probing many origins stays bounded)."""
        for key in list(self._clients)[: len(self._clients) // 2]:
            client = self._clients.pop(key)
            self._trust.pop(key, None)
            task = asyncio.get_running_loop().create_task(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        self._trust.clear()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    async def allowed_addresses(self, host: str, port: int) -> list[str]:
        """Addresses of ``host`` the policy allows (an IP literal is its own address), for
        checks that connect themselves; raises ``dns`` / ``blocked_by_policy``."""
        addresses = [host] if ip_literal(host) is not None else await resolve(host, port)
        return admit(host, addresses, self.policy)

    def database_endpoints(self, dsn: str) -> list[Endpoint]:
        """Every server ``dsn`` names, pinned to an allowed address (blocking: resolves)."""
        return allowed_endpoints(dsn, self.policy)

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
        """One request, following redirects manually (each hop policy-checked and recorded).

        A body over ``body_cap`` bytes (after decompression) raises ``body_too_large``
        (status ``fail``) unless ``truncate`` is set, in which case it is cut and flagged.
        """
        origin = _origin_key(url)
        client = self.client(verify, ca_file, origin)
        awaited = self._expect_handshake(url, self._trust.get((verify, ca_file, origin)))
        try:
            return await _follow(
                client, url, method, headers, content, timeout, follow_redirects,
                max_redirects, body_cap, truncate, read_body, awaited,
            )  # fmt: skip
        finally:
            if awaited is not None:
                awaited.release()

    def _expect_handshake(self, url: str, trust: TrustKey | None) -> _AwaitedHandshake | None:
        """Tell a tls check starting meanwhile that this request's handshake is coming."""
        if trust is None:
            return None
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            return None
        try:
            port = parts.port or 443
        except ValueError:
            return None
        key = (parts.hostname, port, trust)
        return _AwaitedHandshake(self.handshakes, key, self.handshakes.expect(key))


@dataclass(frozen=True)
class _AwaitedHandshake:
    """A handshake a request announced to the ledger; released once it can no longer come."""

    ledger: HandshakeLedger
    key: LedgerKey
    future: asyncio.Future[TlsObservation | None]

    def release(self) -> None:
        self.ledger.release(self.key, self.future)

    def watch(self, request: httpx.Request) -> None:
        """Release when ``request``'s headers go out (see :meth:`_tracer`)."""
        request.extensions["trace"] = self._tracer(request.extensions)

    def _tracer(self, extensions: dict[str, Any]) -> Callable[[str, Any], Awaitable[None]]:
        """httpcore trace hook: once the request's headers go out, the connection (new or
        pooled) is ready, so a tls check waiting for this request's handshake stops waiting
        then, not after the response, its body and redirects. The hook then unhooks itself
        from ``extensions`` (httpcore reads it per step): later steps cost nothing."""

        async def trace(event: str, info: Any) -> None:
            if event.endswith(".send_request_headers.started"):
                self.release()
                extensions.pop("trace", None)

        return trace


def _pooled_client(
    ctx: ssl.SSLContext, backend: PolicyBackend, max_connections: int
) -> httpx.AsyncClient:
    """A client whose connections all go through ``backend`` (the address policy)."""
    transport = httpx.AsyncHTTPTransport(verify=ctx)
    # httpx offers no public hook for the network backend; swap the pool it built
    # for one that connects through the address policy.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ctx,
        max_connections=max_connections,
        # probes of one origin are minutes apart, so idle connections are rarely
        # reused, and every request scans the pool: keep only a few
        max_keepalive_connections=min(KEEPALIVE_CONNECTIONS, max_connections // 2),
        keepalive_expiry=5.0,
        network_backend=backend,
    )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        # cookies live for one probe (its redirect hops), as in blackbox_exporter:
        # a pooled client must not carry one check's session into the next
        cookies=_no_cookie_jar(),
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
    )


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    method: str,
    headers: dict[str, str] | None,
    content: bytes | None,
    timeout: float,
    follow_redirects: bool,
    max_redirects: int,
    body_cap: int,
    truncate: bool,
    read_body: bool,
    awaited: _AwaitedHandshake | None = None,
) -> HttpResult:
    """The request loop: one hop per response, redirects followed until a final answer."""
    chain: list[Hop] = []
    current = url
    started = time.perf_counter()
    cookies = httpx.Cookies()  # this probe's own jar, carried across its redirect hops
    hop_method = method
    hop_content = content
    for _ in range(max_redirects + 1):
        if urlsplit(current).scheme not in ("http", "https"):
            raise ProbeError("config", f"only http and https URLs can be probed, not {current!r}")
        try:
            # inside the try: a URL httpx cannot parse (say, a hostile Location header
            # naming an octal IP) is a ``config`` error, not a crash of the check
            request = client.build_request(
                hop_method,
                current,
                headers=headers,
                content=hop_content,
                timeout=httpx.Timeout(timeout),
            )
            if awaited is not None:
                awaited.watch(request)
            if cookies and "cookie" not in request.headers:
                cookies.set_cookie_header(request)
            response = await client.send(request, stream=True)
        except Exception as exc:
            raise classify_exception(exc, current) from exc
        finally:
            if awaited is not None:  # the first hop's handshake, if any, is over
                awaited.release()
                awaited = None
        try:
            cookies.extract_cookies(response)
            location = response.headers.get("location")
            if follow_redirects and response.status_code in REDIRECT_STATUSES and location:
                chain.append(Hop(current, response.status_code, location))
                previous, current = current, urljoin(current, location)
                if response.status_code == 303 or (
                    response.status_code in (301, 302) and hop_method == "POST"
                ):
                    hop_method, hop_content = "GET", None
                if _origin(previous) != _origin(current):
                    # never hand credentials or a request body to another origin
                    headers = _without_credentials(headers)
                    if hop_content is not None:
                        hop_method, hop_content = "GET", None
                continue
            body, truncated = b"", False
            if read_body:
                body, truncated = await read_capped(response, body_cap, truncate, current)
            peer = _peer_address(response)
            chain.append(Hop(current, response.status_code, location))
            return HttpResult(
                url=current,
                status=response.status_code,
                headers=[(k, v) for k, v in response.headers.multi_items()],
                body=body,
                elapsed_ms=(time.perf_counter() - started) * 1000.0,
                chain=chain,
                http_version=response.http_version,
                peer=peer,
                truncated=truncated,
            )
        finally:
            await response.aclose()
    raise ProbeError(
        "too_many_redirects",
        f"{url} redirected more than {max_redirects} times (last: {current})",
        RunStatus.FAIL,
    )


def _no_cookie_jar() -> http.cookiejar.CookieJar:
    """A jar that stores nothing: the pooled client keeps no cookies between probes."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


#: request headers that may follow a redirect to another origin: any other header may be a
#: credential (an operator-marked ``secret_headers`` name included), so none other follows
_PORTABLE_HEADERS = frozenset(
    {"accept", "accept-language", "accept-encoding", "user-agent", "cache-control", "pragma"}
)


def _origin_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or default)


def _without_credentials(headers: dict[str, str] | None) -> dict[str, str] | None:
    if not headers:
        return headers
    return {k: v for k, v in headers.items() if k.lower() in _PORTABLE_HEADERS}


def _peer_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        addr = stream.get_extra_info("server_addr")
    except Exception:
        return None
    return str(addr[0]) if addr else None
