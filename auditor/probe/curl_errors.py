"""libcurl's result codes as the prober's ``ProbeError`` kinds, worded as the httpx path words
them (``auditor.probe.errors``): a check's findings do not depend on the engine."""

from __future__ import annotations

import errno
import re

from auditor.probe.curl_transfer import HopState
from auditor.probe.errors import handshake_reason, verification_problem
from auditor.probe.outcome import ProbeError, plain_ssl_text

_NAME_MISMATCH_CODE = 62  # X509_V_ERR_HOSTNAME_MISMATCH

#: libcurl's CURLE_* result codes (stable numbers; pycurl does not name them all)
E_UNSUPPORTED_PROTOCOL = 1
E_URL_MALFORMAT = 3
E_COULDNT_RESOLVE_HOST = 6
E_COULDNT_CONNECT = 7
E_WEIRD_SERVER_REPLY = 8
E_HTTP2 = 16
E_PARTIAL_FILE = 18
E_WRITE_ERROR = 23
E_OPERATION_TIMEDOUT = 28
E_SSL_CONNECT_ERROR = 35
E_GOT_NOTHING = 52
E_SEND_ERROR = 55
E_RECV_ERROR = 56
E_SSL_CIPHER = 59
E_PEER_FAILED_VERIFICATION = 60
E_BAD_CONTENT_ENCODING = 61
E_SSL_CACERT_BADFILE = 77
E_HTTP2_STREAM = 92
E_TOO_LARGE = 100

_INVALID = {
    E_GOT_NOTHING, E_WEIRD_SERVER_REPLY, E_PARTIAL_FILE, E_HTTP2, E_HTTP2_STREAM,
    E_UNSUPPORTED_PROTOCOL, E_BAD_CONTENT_ENCODING, E_TOO_LARGE,
}  # fmt: skip
_BROKEN = {E_RECV_ERROR, E_SEND_ERROR}


class _Curl(Exception):
    """libcurl's message as an exception, for ``handshake_reason``'s wording."""


def curl_problem(code: int, message: str, state: HopState, os_errno: int) -> ProbeError:
    """Why the hop ended (``code`` is libcurl's, non-zero), as one ``ProbeError``."""
    url = state.req.url
    if state.error is not None:
        return state.error
    if state.refused is not None:
        host = _host(url)
        return ProbeError(
            "blocked_by_policy", f"{host}: blocked by the address policy ({state.refused})"
        )
    if state.cn_fallback:
        return verification_problem(_NAME_MISMATCH_CODE, "hostname mismatch", url)
    if code == E_OPERATION_TIMEDOUT:
        return ProbeError("timeout", f"{url} did not answer in time")
    if code == E_COULDNT_CONNECT:
        if os_errno == errno.ECONNREFUSED or "refused" in message.lower():
            return ProbeError("refused", f"connection to {url} refused")
        return ProbeError("unreachable", f"cannot connect to {url}: {message}")
    if code == E_PEER_FAILED_VERIFICATION:
        return _verification(message, state, url)
    if code in (E_SSL_CONNECT_ERROR, E_SSL_CIPHER):
        if os_errno == errno.ECONNRESET and "ssl" not in message.lower():
            return ProbeError("reset", f"connection to {url} reset by peer")
        return ProbeError("tls", f"TLS handshake with {url} failed: {_handshake(message)}")
    if code == E_SSL_CACERT_BADFILE:
        return ProbeError("config", f"the CA bundle cannot be loaded: {message}")
    if code in _BROKEN:
        if os_errno == errno.ECONNRESET or "reset" in message.lower():
            return ProbeError("reset", f"connection to {url} reset by peer")
        if "header" in message.lower() or "too large" in message.lower():
            return _invalid(url, message)
        return ProbeError("reset", f"connection to {url} broke: {message}")
    if code in _INVALID:
        return _invalid(url, message)
    if code == E_URL_MALFORMAT:
        return ProbeError("config", f"invalid URL {url}: {message}")
    if code == E_COULDNT_RESOLVE_HOST:
        return ProbeError("dns", f"cannot resolve host of {url}: {message}")
    return ProbeError(
        "unreachable", f"request to {url} failed: {message or f'libcurl error {code}'}"
    )


def _invalid(url: str, message: str) -> ProbeError:
    if "nothing" in message.lower() or "empty reply" in message.lower():
        message = "Server disconnected without sending a response."
    return ProbeError("invalid_response", f"{url} sent an invalid HTTP response: {message}")


def _handshake(message: str) -> str:
    text = message.split(": ", 1)[1] if message.startswith("OpenSSL/") else message
    text = text.replace("error:0A000", "").split("::", 1)[-1] if "::" in text else text
    return handshake_reason(_Curl(plain_ssl_text(text)))


def _verification(message: str, state: HopState, url: str) -> ProbeError:
    code = state.verify_result
    low = message.lower()
    if "subject name" in low or "does not match" in low or "no alternative" in low:
        return verification_problem(_NAME_MISMATCH_CODE, "hostname mismatch", url)
    reason = re.sub(r"^.*?(verify result|certificate problem): |\s*\(\d+\)$", "", message)
    reason = reason.strip() or "verification failed"
    return verification_problem(code or None, reason, url)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url
