"""What went wrong with a request, as one ``ProbeError`` kind (DESIGN §3 error kinds).

httpx, httpcore, ``ssl`` and the OS each describe failures their own way, often wrapped in
one another; checks and findings need one precise kind per failure.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import httpx

from auditor.probe.outcome import ProbeError


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
