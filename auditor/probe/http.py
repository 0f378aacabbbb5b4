"""HTTP for probes: the address policy at connect time, manual redirects, body caps.

httpx has no total deadline and no body cap (``reference/security.md`` §2.6), and it
resolves names itself. ``PolicyBackend`` resolves, checks every address against the
policy and connects to the pinned address (SNI and Host stay the original name);
``HttpProber.fetch`` follows redirects hop by hop so each hop is recorded and re-checked,
and reads the body through the decoder with a cap applied after decompression.
The runner wraps each probe in the total wall-clock deadline.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend
from httpcore._backends.base import SOCKET_OPTION, AsyncNetworkBackend, AsyncNetworkStream

from auditor.probe.addresses import AddressPolicy
from auditor.probe.handshakes import (
    HandshakeLedger,
    LedgerKey,
    TlsObservation,
    TrustKey,
    session_of,
    trust_stamp,
)
from auditor.probe.outcome import ProbeError, RunStatus

USER_AGENT = "deployment-auditor/0.1 (+readiness probe)"
DEFAULT_BODY_CAP = 1_000_000
DEFAULT_MAX_REDIRECTS = 10
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
KEEPALIVE_CONNECTIONS = 20
MAX_POOLS = 4096

#: a handshake a request announced to the ledger: (ledger key, future waiters await)
_Expected = tuple[LedgerKey, asyncio.Future[TlsObservation | None]]


def _ip_literal(host: str) -> str | None:
    """The address itself when ``host`` is an IP literal (brackets allowed), else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class PolicyBackend(AsyncNetworkBackend):
    """httpcore network backend that refuses addresses the policy forbids."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Any = None,
        *,
        ledger: HandshakeLedger | None = None,
        trust: TrustKey | None = None,
    ) -> None:
        self._inner = AutoBackend()
        self._policy = policy
        self._resolver = resolver  # test seam: async (host, port) -> list[str]
        self._ledger = ledger  # where verified handshakes are recorded (None: nowhere)
        self._trust = trust  # the trust store this client's context verifies against

    async def _resolve(self, host: str, port: int) -> list[str]:
        if self._resolver is not None:
            return list(await self._resolver(host, port))
        literal = _ip_literal(host)
        if literal is not None:  # no resolver round trip through the thread pool
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ProbeError("dns", f"cannot resolve {host}: {exc.strerror or exc}") from exc
        except UnicodeError as exc:  # a label IDNA cannot encode (empty, over 63 characters)
            raise ProbeError(
                "dns", f"cannot resolve {host}: not a valid host name ({exc})"
            ) from exc
        seen: list[str] = []
        for info in infos:
            addr = str(info[4][0])
            if addr not in seen:
                seen.append(addr)
        return seen

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        addresses = await self._resolve(host, port)
        refusals = []
        allowed = []
        for addr in addresses:
            reason = self._policy.verdict(addr)
            if reason is None:
                allowed.append(addr)
            else:
                refusals.append(reason)
        if not allowed:
            detail = "; ".join(refusals) or "no address"
            raise ProbeError(
                "blocked_by_policy", f"{host}: blocked by the address policy ({detail})"
            )
        last: Exception | None = None
        for addr in allowed:
            try:
                stream = await self._inner.connect_tcp(
                    addr,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                last = exc
                continue
            if self._ledger is not None and self._trust is not None:
                return _ObservedStream(stream, addr, port, self._trust, self._ledger)
            return stream
        assert last is not None
        raise last

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> AsyncNetworkStream:
        raise ProbeError("blocked_by_policy", "unix sockets are not allowed for probes")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _strict(ctx: ssl.SSLContext) -> bool:
    """Verifies chain and hostname, without the CN fallback: the tls check's strict client."""
    return (
        ctx.verify_mode == ssl.CERT_REQUIRED
        and ctx.check_hostname
        and not ctx.hostname_checks_common_name
    )


class _ObservedStream(AsyncNetworkStream):
    """A TCP stream whose TLS upgrade, when verified, is recorded in the handshake ledger."""

    def __init__(
        self,
        inner: AsyncNetworkStream,
        address: str,
        port: int,
        trust: TrustKey,
        ledger: HandshakeLedger,
    ) -> None:
        self._inner, self._address, self._port = inner, address, port
        self._trust, self._ledger = trust, ledger

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        if not server_hostname or not _strict(ssl_context):
            return await self._inner.start_tls(ssl_context, server_hostname, timeout)
        key = (server_hostname, self._port, self._trust)
        try:
            stream = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            self._ledger.settle(key, None)  # waiters do their own handshake now
            raise
        try:
            obj = stream.get_extra_info("ssl_object")
            session = session_of(obj) if obj is not None else None
        except Exception:  # unreadable session facts: the request goes on, nothing recorded
            session = None
        if session is None:
            self._ledger.settle(key, None)
            return stream
        self._ledger.record(
            TlsObservation(
                host=server_hostname,
                port=self._port,
                trust=self._trust,
                address=self._address,
                session=session,
                seen_at=time.monotonic(),
            )
        )
        return stream


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


#: built contexts are reused for this long (loading the system store costs ~10-100 ms CPU)
SSL_CONTEXT_TTL_S = 300.0
_ContextEntry = tuple[float, ssl.SSLContext, TrustKey | None]
_ssl_contexts: dict[tuple[bool, str | None, int, int], _ContextEntry] = {}


def build_ssl_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    """A client context: system roots (or ``ca_file``), no CN fallback for hostnames."""
    return ssl_context_and_trust(verify, ca_file)[0]


def ssl_context_and_trust(
    verify: bool = True, ca_file: str | None = None
) -> tuple[ssl.SSLContext, TrustKey | None]:
    """A client context and the trust key of the store version it was built from (None: it
    does not verify, or the store changed while it was loaded).

    Contexts are shared (an ``SSLContext`` is safe for concurrent handshakes and nobody
    mutates it after this): per (verify, ca_file and its mtime/size), rebuilt after
    :data:`SSL_CONTEXT_TTL_S` so a changed system store is picked up. The key is cached with
    the context, so whoever gets this context gets the key of what it really trusts.
    """
    stamp = trust_stamp(ca_file) if ca_file else None
    key = (verify, ca_file, *(stamp[2:] if stamp else (0, 0)))
    now = time.monotonic()
    hit = _ssl_contexts.get(key)
    if hit is not None and now - hit[0] < SSL_CONTEXT_TTL_S:
        return hit[1], hit[2]
    before = stamp or trust_stamp(None)
    ctx = _new_ssl_context(verify, ca_file)
    trust: TrustKey | None = before if verify else None
    if trust is not None and trust_stamp(ca_file) != before:
        return ctx, None  # changed while loading: which version it holds is unknown
    if len(_ssl_contexts) > 256:
        _ssl_contexts.clear()
    _ssl_contexts[key] = (now, ctx, trust)
    return ctx, trust


def _new_ssl_context(verify: bool, ca_file: str | None) -> ssl.SSLContext:
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    ctx.hostname_checks_common_name = False
    return ctx


def classify_exception(exc: BaseException, url: str) -> ProbeError:
    """Turn an httpx/OS error into a ProbeError with a precise error kind."""
    if isinstance(exc, ProbeError):
        return exc
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    chain = [exc]
    while cause is not None and len(chain) < 6:
        chain.append(cause)  # type: ignore[arg-type]
        cause = cause.__cause__ or cause.__context__
    for item in chain:
        if isinstance(item, ProbeError):
            return item
        if isinstance(item, ssl.SSLWantReadError | ssl.SSLWantWriteError):
            continue  # "would block": what a handshake cut by a timeout leaves behind
        if isinstance(item, ssl.SSLError | ssl.SSLCertVerificationError):
            return ProbeError("tls", f"TLS handshake with {url} failed: {item}")
        if isinstance(item, socket.gaierror):
            return ProbeError("dns", f"cannot resolve host of {url}: {item}")
        if isinstance(item, ConnectionRefusedError):
            return ProbeError("refused", f"connection to {url} refused")
        if isinstance(item, ConnectionResetError):
            return ProbeError("reset", f"connection to {url} reset by peer")
    if isinstance(exc, httpx.TimeoutException | TimeoutError | asyncio.TimeoutError):
        return ProbeError("timeout", f"{url} did not answer in time")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.DecodingError | httpx.LocalProtocolError):
        return ProbeError("invalid_response", f"{url} sent an invalid HTTP response: {exc}")
    if isinstance(exc, httpx.ConnectError):
        low = str(exc).lower()
        if "refused" in low:
            return ProbeError("refused", f"connection to {url} refused")
        if "ssl" in low or "certificate" in low or "tls" in low:
            return ProbeError("tls", f"TLS handshake with {url} failed: {exc}")
        if "name" in low and ("resolution" in low or "known" in low):
            return ProbeError("dns", f"cannot resolve host of {url}: {exc}")
        return ProbeError("unreachable", f"cannot connect to {url}: {exc}")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return ProbeError("reset", f"connection to {url} broke: {text}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return ProbeError("config", f"invalid URL {url}: {exc}")
    return ProbeError("unreachable", f"request to {url} failed: {text}")


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
    ) -> None:
        self.policy = policy or AddressPolicy()
        self._resolver = resolver
        self._max_connections = max_connections
        self._closing: set[asyncio.Task[None]] = set()
        self._clients: dict[tuple[bool, str | None, str], httpx.AsyncClient] = {}
        #: verified handshakes of new connections, for the tls check (``auditor.probe.handshakes``)
        self.handshakes = HandshakeLedger()
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
            transport = httpx.AsyncHTTPTransport(verify=ctx)
            # httpx offers no public hook for the network backend; swap the pool it built
            # for one that connects through the address policy.
            transport._pool = httpcore.AsyncConnectionPool(
                ssl_context=ctx,
                max_connections=self._max_connections,
                # probes of one origin are minutes apart, so idle connections are rarely
                # reused, and every request scans the pool: keep only a few
                max_keepalive_connections=min(KEEPALIVE_CONNECTIONS, self._max_connections // 2),
                keepalive_expiry=5.0,
                network_backend=PolicyBackend(
                    self.policy,
                    self._resolver,
                    ledger=self.handshakes if trust is not None else None,
                    trust=trust,
                ),
            )
            client = httpx.AsyncClient(
                transport=transport,
                follow_redirects=False,
                trust_env=False,
                # cookies live for one probe (its redirect hops), as in blackbox_exporter:
                # a pooled client must not carry one check's session into the next
                cookies=_no_cookie_jar(),
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            )
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
        expected = self._expect_handshake(url, self._trust.get((verify, ca_file, origin)))
        try:
            return await self._fetch(
                client, url, method, headers, content, timeout, follow_redirects,
                max_redirects, body_cap, truncate, read_body, expected,
            )  # fmt: skip
        finally:
            if expected is not None:
                self.handshakes.release(*expected)

    def _tracer(
        self, expected: _Expected, extensions: dict[str, Any]
    ) -> Callable[[str, Any], Awaitable[None]]:
        """httpcore trace hook: once the request's headers go out, the connection (new or
        pooled) is ready, so a tls check waiting for this request's handshake stops waiting
        then, not after the response, its body and redirects. The hook then unhooks itself
        from ``extensions`` (httpcore reads it per step): later steps cost nothing."""

        async def trace(event: str, info: Any) -> None:
            if event.endswith(".send_request_headers.started"):
                self.handshakes.release(*expected)
                extensions.pop("trace", None)

        return trace

    def _expect_handshake(self, url: str, trust: TrustKey | None) -> _Expected | None:
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
        return key, self.handshakes.expect(key)

    async def _fetch(
        self,
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
        expected: _Expected | None = None,
    ) -> HttpResult:
        chain: list[Hop] = []
        current = url
        started = time.perf_counter()
        cookies = httpx.Cookies()  # this probe's own jar, carried across its redirect hops
        hop_method = method
        hop_content = content
        for _ in range(max_redirects + 1):
            if urlsplit(current).scheme not in ("http", "https"):
                raise ProbeError(
                    "config", f"only http and https URLs can be probed, not {current!r}"
                )
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
                if expected is not None:
                    request.extensions["trace"] = self._tracer(expected, request.extensions)
                if cookies and "cookie" not in request.headers:
                    cookies.set_cookie_header(request)
                response = await client.send(request, stream=True)
            except Exception as exc:
                raise classify_exception(exc, current) from exc
            finally:
                if expected is not None:  # the first hop's handshake, if any, is over
                    self.handshakes.release(*expected)
                    expected = None
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
                    body, truncated = await _read_capped(response, body_cap, truncate, current)
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


class _CappedDecoder:
    """Decompresses gzip/deflate incrementally, never producing more than the cap allows.

    httpx decodes each network chunk whole, so a small gzip bomb chunk can expand to
    hundreds of MB before any cap applies; here ``max_length`` bounds every step.
    """

    def __init__(self, encoding: str) -> None:
        import zlib

        self._zlib = zlib
        self.identity = encoding in ("", "identity")
        if encoding in ("gzip", "x-gzip"):
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._obj = zlib.decompressobj()
        elif not self.identity:
            raise ProbeError("invalid_response", f"unsupported content-encoding {encoding!r}")

    def feed(self, data: bytes, budget: int) -> tuple[bytes, bool]:
        """Decoded bytes (at most ``budget`` + 1) and whether input was left over."""
        if self.identity:
            return data, False
        try:
            out = self._obj.decompress(data, budget + 1)
        except self._zlib.error as exc:
            raise ProbeError("invalid_response", f"corrupt compressed body: {exc}") from exc
        return out, bool(self._obj.unconsumed_tail)


async def _read_capped(
    response: httpx.Response, cap: int, truncate: bool, url: str
) -> tuple[bytes, bool]:
    declared = response.headers.get("content-length")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if (
        declared
        and declared.isdigit()
        and int(declared) > cap
        and not truncate
        and encoding in ("", "identity")
    ):
        raise ProbeError(
            "body_too_large",
            f"{url} declared a {int(declared)}-byte body (cap {cap})",
            RunStatus.FAIL,
        )
    decoder = _CappedDecoder(encoding)
    parts: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw():
            chunk, leftover = decoder.feed(raw, cap - size)
            size += len(chunk)
            if size > cap or leftover:
                if truncate:
                    parts.append(chunk[: max(0, cap - (size - len(chunk)))])
                    return b"".join(parts), True
                raise ProbeError(
                    "body_too_large", f"{url} sent a body over the {cap}-byte cap", RunStatus.FAIL
                )
            parts.append(chunk)
    except ProbeError:
        raise
    except Exception as exc:
        raise classify_exception(exc, url) from exc
    return b"".join(parts), False


#: request headers that carry credentials and must not follow a redirect to another origin
_CREDENTIAL_HEADERS = re.compile(
    r"^(authorization|proxy-authorization|cookie)$|token|secret|api[-_]?key|password|auth",
    re.IGNORECASE,
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
    return {k: v for k, v in headers.items() if not _CREDENTIAL_HEADERS.search(k)}


def _peer_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        addr = stream.get_extra_info("server_addr")
    except Exception:
        return None
    return str(addr[0]) if addr else None
