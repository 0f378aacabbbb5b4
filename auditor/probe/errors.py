"""What went wrong with a request, as one ``ProbeError`` kind (DESIGN §3 error kinds).

httpx, httpcore, ``ssl`` and the OS each describe failures their own way, often wrapped in
one another; checks and findings need one precise kind per failure.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from urllib.parse import urlsplit

import httpx

from auditor.probe.outcome import ProbeError, plain_ssl_text

#: OpenSSL X509_V_ERR_* codes a verifying client stops at, by the fix they call for
_EXPIRED = 10
_NOT_YET_VALID = 9
_NAME_MISMATCH = frozenset({62, 64})  # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
_SELF_SIGNED = 18  # DEPTH_ZERO_SELF_SIGNED_CERT
#: UNABLE_TO_GET_ISSUER_CERT(_LOCALLY), SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE
_UNTRUSTED = frozenset({2, 19, 20, 21})
TRUST_FIX = "trust this CA with the check's ca_file option, or fix the chain the server sends"
#: OpenSSL reasons for a handshake that never got to the certificate, in plain words
_HANDSHAKE_REASONS = (
    (("wrong_version_number", "record_layer_failure", "packet_length_too_long", "http_request"),
     "the port does not speak TLS (plain HTTP on an https:// URL?)"),
    (("handshake_failure", "no_shared_cipher", "unsupported_protocol", "protocol_version",
      "no_protocols_available", "no_ciphers_available", "insufficient_security"),
     "the server and the auditor share no TLS version or cipher suite (the tls check shows "
     "what the server offers)"),
    (("unexpected_eof", "eof occurred"),
     "the server closed the connection during the TLS handshake"),
)  # fmt: skip


def _host_origin(url: str) -> tuple[str, str]:
    """(host, ``scheme://host:port``) of ``url``: a certificate belongs to the origin, so
    the message names it rather than the path a probe happened to fetch."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, url
    return parts.hostname or url, f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def tls_problem(exc: ssl.SSLError, url: str) -> ProbeError:
    """A failed TLS handshake as a ``tls`` error that says what is wrong and how to fix it.

    A verification failure names its cause (untrusted chain, wrong name, expired…) and the
    remedy for that cause; nothing of OpenSSL's ``[SSL: …] (_ssl.c:NNN)`` wrapping is kept.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = plain_ssl_text(str(exc.verify_message or "")) or "verification failed"
        return verification_problem(exc.verify_code, reason, url)
    return ProbeError("tls", f"TLS handshake with {url} failed: {handshake_reason(exc)}")


def verification_problem(code: int | None, reason: str, url: str) -> ProbeError:
    """A certificate the client rejected (OpenSSL ``X509_V_ERR_*`` ``code``), in words, with
    the fix for that cause: shared by the httpx and libcurl engines."""
    host, origin = _host_origin(url)
    if code == _EXPIRED:
        text = (
            f"the certificate of {host} has expired: renew it and deploy the new one "
            "(the tls check shows its dates)"
        )
    elif code == _NOT_YET_VALID:
        text = (
            f"the certificate of {host} is not valid yet: check the server's clock and "
            "the certificate's start date"
        )
    elif code in _NAME_MISMATCH:
        text = (
            f"the certificate is not valid for {host}: issue one whose subjectAltName "
            f"covers {host}, or point the service URL at a name the certificate covers"
        )
    elif code == _SELF_SIGNED:
        text = (
            f"the certificate of {host} is self-signed and not trusted: trust it with "
            "the check's ca_file option, or serve one from a trusted CA"
        )
    elif code in _UNTRUSTED:
        text = f"the certificate chain of {host} is not trusted ({reason}): {TRUST_FIX}"
    else:
        text = f"the certificate of {host} was rejected ({reason}): the tls check explains it"
    return ProbeError("tls", f"TLS verification of {origin} failed: {text}")


def handshake_reason(exc: BaseException) -> str:
    """Why a handshake (not a verification) failed, in words; OpenSSL's tags dropped."""
    text = plain_ssl_text(str(exc)) or type(exc).__name__
    low = f"{getattr(exc, 'reason', '') or ''} {text}".lower().replace(" ", "_")
    for needles, meaning in _HANDSHAKE_REASONS:
        if any(n.replace(" ", "_") in low for n in needles):
            return f"{meaning} ({text})" if text.lower() not in meaning else meaning
    return text


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
        if isinstance(item, ssl.SSLError):
            return tls_problem(item, url)
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
            return ProbeError("tls", f"TLS handshake with {url} failed: {plain_ssl_text(str(exc))}")
        if "name" in low and ("resolution" in low or "known" in low):
            return ProbeError("dns", f"cannot resolve host of {url}: {exc}")
        return ProbeError("unreachable", f"cannot connect to {url}: {exc}")
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return ProbeError("reset", f"connection to {url} broke: {text}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return ProbeError("config", f"invalid URL {url}: {exc}")
    return ProbeError("unreachable", f"request to {url} failed: {text}")
