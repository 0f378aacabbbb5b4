"""The libcurl probe engine: ``HttpProber``'s contract with the HTTP work done in C.

Measured (issue #19), httpx/httpcore/anyio's per-request machinery costs several times what
the TLS handshake itself costs; libcurl's multi interface (``curl_loop``) does the exchange
in C and calls back into Python only where the prober's rules live (``curl_transfer``).
What stays the same as the httpx engine, by construction: URLs are parsed by httpx's parser
(the same ``config`` errors for the same hostile spellings), names are resolved here, never
by libcurl, each hop's addresses pass ``admit`` and the connected socket is checked again;
redirects are followed hop by hop with the same credential, cookie and method rules; error
kinds and messages match (``curl_errors``); verified handshakes feed the same ledger the
``tls`` check reads. Select it with ``[auditor] probe_engine = "curl"``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from typing import Any
from urllib.parse import urljoin

import httpx
import pycurl

from auditor.probe.addresses import AddressPolicy
from auditor.probe.curl_errors import E_COULDNT_CONNECT, E_WRITE_ERROR, curl_problem
from auditor.probe.curl_loop import CurlLoop
from auditor.probe.curl_transfer import HopRequest, HopState, build_handle
from auditor.probe.curl_trust import TrustLoops
from auditor.probe.errors import classify_exception
from auditor.probe.handshakes import system_bundle
from auditor.probe.http import (
    USER_AGENT,
    HttpProber,
    _origin,
    _without_credentials,
)
from auditor.probe.interface import (
    DEFAULT_BODY_CAP,
    DEFAULT_MAX_REDIRECTS,
    REDIRECT_STATUSES,
    Hop,
    HttpResult,
    TlsObservation,
    TrustKey,
)
from auditor.probe.outcome import ProbeError, RunStatus
from auditor.probe.tls_context import ssl_context_and_trust
from auditor.probe.transport import admit, ip_literal, resolve

#: libcurl's per-phase clocks, as the names results carry them (ms since the hop started)
PHASES = (
    ("dns", pycurl.NAMELOOKUP_TIME),
    ("connect", pycurl.CONNECT_TIME),
    ("tls", pycurl.APPCONNECT_TIME),
    ("first_byte", pycurl.STARTTRANSFER_TIME),
    ("total", pycurl.TOTAL_TIME),
)
_DEFAULT_HEADERS = {"user-agent": USER_AGENT, "accept": "*/*", "accept-encoding": "gzip, deflate"}


class CurlProber(HttpProber):
    """``HttpProber`` whose ``fetch`` runs on libcurl; everything else is inherited (the
    address checks for checks that connect themselves, the TLS ledger, the httpx clients
    that API-style callers may still ask for)."""

    def __init__(
        self,
        policy: AddressPolicy | None = None,
        *,
        resolver: Any = None,
        max_connections: int = 200,
        share_handshakes: bool = True,
        source_address: str | None = None,
    ) -> None:
        super().__init__(
            policy, resolver=resolver, max_connections=max_connections,
            share_handshakes=share_handshakes, source_address=source_address,
        )  # fmt: skip
        self._plain: CurlLoop | None = None  # http and unverified https
        self._stores = TrustLoops()  # verified https: one multi handle per trust store
        self._bound: asyncio.AbstractEventLoop | None = None
        self._ca: tuple[int, str] | None = None

    def _multi(self, verify: bool, ca_file: str | None) -> tuple[CurlLoop, TrustKey | None]:
        """The multi handle for a hop and, when it verifies, the store version it holds."""
        loop = asyncio.get_running_loop()
        if self._bound is not loop:  # a new event loop (tests): handles of the old are dead
            self._close_loops()
            self._bound = loop
        if verify:
            return self._stores.loop_for(ca_file)
        if self._plain is None:
            self._plain = CurlLoop()
        return self._plain, None

    def _close_loops(self) -> None:
        if self._plain is not None:
            self._plain.close()
            self._plain = None
        self._stores.close()

    async def aclose(self) -> None:
        self._close_loops()
        self._bound = None
        await super().aclose()

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
        """One request, redirects followed hop by hop (each re-resolved and re-checked)."""
        ssl_context_and_trust(verify, ca_file)  # a CA file that cannot load: ``config``
        trust = self._multi(verify, ca_file)[1] if self._share else None
        awaited = self._expect_handshake(url, trust)
        started = time.perf_counter()
        chain: list[Hop] = []
        cookies: httpx.Cookies | None = None  # this probe's own jar, made at a Set-Cookie
        current, hop_method, hop_content = url, method, content
        try:
            for _ in range(max_redirects + 1):
                try:
                    parsed = _parse_url(current)
                except Exception as exc:
                    raise classify_exception(exc, current) from exc
                if parsed.scheme not in ("http", "https"):
                    raise ProbeError(
                        "config", f"only http and https URLs can be probed, not {current!r}"
                    )
                request_headers = _header_lines(headers, cookies, parsed)
                remaining = timeout - (time.perf_counter() - started)
                if remaining <= 0:
                    raise ProbeError("timeout", f"{current} did not answer in time")
                req = await self._hop_request(
                    parsed, hop_method, request_headers, hop_content, remaining, verify, ca_file, body_cap, truncate, read_body, follow_redirects,
                    self._share,
                )  # fmt: skip
                state = await self._perform(req, ca_file)
                if awaited is not None:
                    awaited.release()
                    awaited = None
                location = state.first("location")
                if follow_redirects and state.status in REDIRECT_STATUSES and location:
                    if any(k.lower() == "set-cookie" for k, _ in state.headers):
                        cookies = cookies or httpx.Cookies()
                        _keep_cookies(cookies, state, hop_method, current)
                    chain.append(Hop(current, state.status, location))
                    previous, current = current, _next_url(current, location)
                    if state.status == 303 or (state.status in (301, 302) and hop_method == "POST"):
                        hop_method, hop_content = "GET", None
                    if _origin(previous) != _origin(current):
                        headers = _without_credentials(headers)
                        if hop_content is not None:
                            hop_method, hop_content = "GET", None
                    continue
                chain.append(Hop(current, state.status, location))
                return HttpResult(
                    url=current,
                    status=state.status,
                    headers=state.headers,
                    body=state.body,
                    elapsed_ms=(time.perf_counter() - started) * 1000.0,
                    chain=chain,
                    http_version=state.version,
                    peer=state.peer,
                    truncated=state.truncated,
                    timings=state.timings,
                )
        finally:
            if awaited is not None:
                awaited.release()
        raise ProbeError(
            "too_many_redirects",
            f"{url} redirected more than {max_redirects} times (last: {current})",
            RunStatus.FAIL,
        )

    async def _hop_request(
        self,
        parsed: httpx.URL,
        method: str,
        headers: list[str],
        content: bytes | None,
        timeout: float,
        verify: bool,
        ca_file: str | None,
        body_cap: int,
        truncate: bool,
        read_body: bool,
        follow: bool,
        observe: bool,
    ) -> HopRequest:
        host = parsed.host
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if self._resolver is not None:
            found = list(await self._resolver(host, port))
        else:
            literal = ip_literal(host)
            found = [literal] if literal is not None else await resolve(host, port)
        allowed = admit(host, found, self.policy)
        ca_option, ca_path = (pycurl.CAINFO, ca_file) if ca_file else self._system_ca()
        return HopRequest(
            url=str(parsed), host=parsed.raw_host.decode("ascii"), method=method, headers=headers, content=content,
            addresses=allowed, port=port, timeout=max(0.001, timeout), verify=verify,
            ca_option=ca_option, ca_path=ca_path, body_cap=body_cap, truncate=truncate,
            read_body=read_body, follow=follow, observe=observe, source=self.source_address,
        )  # fmt: skip

    def _system_ca(self) -> tuple[int, str]:
        if self._ca is None:
            path = system_bundle()
            self._ca = (pycurl.CAPATH if os.path.isdir(path) else pycurl.CAINFO, path)
        return self._ca

    async def _perform(self, req: HopRequest, ca_file: str | None) -> HopState:
        """Run the hop, trying the next allowed address when one cannot be connected."""
        https = req.url.startswith("https:")
        multi, stamp = self._multi(req.verify and https, ca_file)
        while True:
            state = HopState(req, self.policy)
            handle = build_handle(req, state)
            try:
                code, message = await multi.perform(handle)
                state.verify_result = int(handle.getinfo(pycurl.SSL_VERIFYRESULT) or 0)
                os_errno = int(handle.getinfo(pycurl.OS_ERRNO) or 0)
                state.peer = handle.getinfo(pycurl.PRIMARY_IP) or None
                if code == 0 or (code == E_WRITE_ERROR and state.stopped):
                    state.timings = {
                        name: round(handle.getinfo(info) * 1000.0, 3) for name, info in PHASES
                    }
            finally:
                handle.close()
            if req.observe and https and stamp is not None:
                vouched = self._stores.vouch(ca_file, multi, stamp) if state.verified else None
                self._observe(req, state, stamp, vouched)
            if state.error is None and (code == 0 or state.stopped) and not state.cn_fallback:
                if state.status == 0:
                    raise ProbeError(
                        "invalid_response", f"{req.url} sent an invalid HTTP response: no status"
                    )
                return state
            if code == E_COULDNT_CONNECT and state.refused is None and len(req.addresses) > 1:
                req.addresses = req.addresses[1:]
                continue
            raise curl_problem(code, message, state, os_errno)

    def _observe(
        self, req: HopRequest, state: HopState, stamp: TrustKey, trust: TrustKey | None
    ) -> None:
        """A verified handshake goes to the ledger for the ``tls`` check (as the httpx
        engine's ``ObservedStream`` does); a failed one tells waiters to do their own."""
        host = req.host
        session = state.session()
        if trust is None or session is None or state.peer is None:
            self.handshakes.settle((host, req.port, stamp), None)  # waiters shake hands
            return
        self.handshakes.record(
            TlsObservation(
                host=host,
                port=req.port,
                trust=trust,
                address=state.peer,
                session=session,
                seen_at=time.monotonic(),
            )
        )


@functools.lru_cache(maxsize=4096)
def _parse_url(url: str) -> httpx.URL:
    """httpx's parse of a URL (immutable), cached: a check asks for the same URL every run
    and the parse costs more than the rest of the request set-up. Errors are not cached."""
    return httpx.URL(url)


def _header_lines(
    headers: dict[str, str] | None, cookies: httpx.Cookies | None, parsed: httpx.URL
) -> list[str]:
    """The request's header lines: defaults, then the caller's (theirs win), then cookies
    this probe was given on earlier hops; ``Expect:`` off (no 100-continue round trip)."""
    merged = dict(_DEFAULT_HEADERS)
    names = {"user-agent": "User-Agent", "accept": "Accept", "accept-encoding": "Accept-Encoding"}
    for key, value in (headers or {}).items():
        if any(ch in key or ch in value for ch in "\r\n\0") or ":" in key:
            raise ProbeError("config", f"header {key!r} has a character HTTP forbids")
        merged[key.lower()] = value
        names[key.lower()] = key
    lines = [f"{names.get(k, k)}: {v}" for k, v in merged.items()]
    if cookies and "cookie" not in merged:
        request = httpx.Request("GET", parsed)
        cookies.set_cookie_header(request)
        if "cookie" in request.headers:
            lines.append(f"Cookie: {request.headers['cookie']}")
    lines.append("Expect:")
    return lines


def _keep_cookies(cookies: httpx.Cookies, state: HopState, method: str, url: str) -> None:
    response = httpx.Response(
        state.status, headers=state.headers, request=httpx.Request(method, url)
    )
    cookies.extract_cookies(response)


def _next_url(current: str, location: str) -> str:
    """Where a redirect points; a Location httpx's parser rejects is the target's invalid
    answer (worded as the httpx engine words it), not a ``config`` error of the check."""
    joined = urljoin(current, location)
    try:
        httpx.URL(joined)
    except httpx.InvalidURL as exc:
        raise ProbeError(
            "invalid_response",
            f"{current} sent an invalid HTTP response: Invalid URL in location header: {exc}.",
        ) from exc
    return joined
