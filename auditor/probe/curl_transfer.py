"""One HTTP exchange (one redirect hop) on a libcurl easy handle, with the prober's rules.

libcurl does the whole exchange in C; Python only sees the callbacks that enforce what the
httpx path enforces: every socket libcurl opens is checked against the address policy
(``OPENSOCKETFUNCTION``) and must be one of the addresses this hop pinned (``CONNECT_TO``,
so libcurl never resolves a name itself); the body is decompressed here, under the byte
cap, never by libcurl; the response is cut once the caller has what it needs. With
``VERBOSE`` on (verified HTTPS only), the debug stream yields the handshake's certificate
chain as sent, protocol and cipher, for the ``tls`` check's shared handshake.
"""

from __future__ import annotations

import _socket
import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any

import pycurl

from auditor.probe.addresses import AddressPolicy
from auditor.probe.body import CappedDecoder
from auditor.probe.interface import Session
from auditor.probe.outcome import ProbeError, RunStatus
from auditor.probe.tls_context import CLIENT_CIPHERS, SSL_CONTEXT_TTL_S

_HTTP_PROTOCOLS = pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS
_CERTIFICATE_MESSAGE = 11  # TLS handshake type
#: key-exchange groups as the ssl module's OpenSSL 3.0 offers them (one X25519 key share):
#: libcurl's OpenSSL 3.5+ would add an ML-KEM hybrid share, ~10% of a probe's CPU, that the
#: httpx engine and the tls check never offer
CLIENT_GROUPS = "X25519:P-256:X448:P-521:P-384"
_CA_CACHE_TIMEOUT = 321  # CURLOPT_CA_CACHE_TIMEOUT (libcurl 7.87+; pycurl has no name for it)
_CIPHER_BITS = (("CHACHA20", 256), ("AES_256", 256), ("AES256", 256), ("AES_128", 128))


@dataclass
class HopRequest:
    """What one hop sends, and the limits it runs under."""

    url: str
    host: str  # as the TLS layer sends it (IDNA), the ledger's key
    method: str
    headers: list[str]
    content: bytes | None
    addresses: list[str]  # the policy-allowed addresses; the first is connected
    port: int
    timeout: float
    verify: bool
    ca_option: int  # pycurl.CAINFO (a bundle file) or pycurl.CAPATH (a hashed directory)
    ca_path: str  # the ``ca_file`` or the system bundle; "" = libcurl's own default
    body_cap: int
    truncate: bool
    read_body: bool
    follow: bool  # a redirect response ends the hop after its headers
    observe: bool  # collect the handshake (verified https that may be shared)
    source: str | None = None  # the local address to connect from (a probe location's)


@dataclass
class HopState:
    """What the callbacks gathered while libcurl ran the hop."""

    req: HopRequest
    policy: AddressPolicy
    status: int = 0
    version: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    truncated: bool = False
    decoder: CappedDecoder | None = None
    stopped: bool = False  # we ended the transfer on purpose: what we have is the answer
    error: ProbeError | None = None  # we ended it because of this
    refused: str | None = None  # the policy refused a socket
    chain: list[bytes] = field(default_factory=list)
    protocol: str | None = None
    cipher: str | None = None
    cn_fallback: bool = False  # libcurl matched the name on the subject CN (we do not)
    verified: bool = False
    verify_result: int = 0  # OpenSSL's X509_V_ERR_* of the handshake (set after the hop)
    headers_sent: bool = False
    peer: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    # OPENSOCKETFUNCTION ------------------------------------------------------------------

    def open_socket(self, purpose: int, address: tuple[int, int, int, Any]) -> Any:
        family, socktype, protocol, sockaddr = address
        host = str(sockaddr[0]) if isinstance(sockaddr, tuple) and sockaddr else ""
        try:
            ip = str(ipaddress.ip_address(host.split("%")[0]))
        except ValueError:
            self.refused = f"{host or 'a non-IP socket'} is not an address the prober resolved"
            return pycurl.SOCKET_BAD
        reason = self.policy.verdict(ip)
        if reason is None and ip not in self.req.addresses:
            reason = f"{ip} is not the address this probe resolved and checked"
        if reason is not None:
            self.refused = reason
            return pycurl.SOCKET_BAD
        sock = _socket.socket(family, socktype, protocol)
        if self.req.source:
            try:
                sock.bind((self.req.source, 0))
            except OSError as exc:
                sock.close()
                self.error = ProbeError(
                    "unreachable",
                    f"cannot connect to {self.req.url}: source address {self.req.source}: "
                    f"{exc.strerror or exc}",
                )
                return pycurl.SOCKET_BAD
        return LentSocket(sock.detach())

    # HEADERFUNCTION -----------------------------------------------------------------------

    def on_header(self, line: bytes) -> int | None:
        if line.startswith(b"HTTP/"):
            head = line.split(None, 2)
            self.version = head[0].decode("latin-1")
            self.status = int(head[1]) if len(head) > 1 and head[1].isdigit() else 0
            self.headers = []
            return None
        text = line.decode("latin-1").rstrip("\r\n")
        if text:
            name, sep, value = text.partition(":")
            if sep:
                self.headers.append((name.strip(), value.strip()))
            return None
        if self.status < 200:  # end of a 1xx interim response: the real one follows
            return None
        return self._headers_done()

    def _headers_done(self) -> int | None:
        if self.cn_fallback:
            return 0  # the certificate does not name the host: never read its answer
        if self.req.follow and self.status in (301, 302, 303, 307, 308) and self._has("location"):
            self.stopped = True
            return 0
        if not self.req.read_body or self.req.method == "HEAD":
            self.stopped = True
            return 0
        encoding = (self.first("content-encoding") or "").strip().lower()
        declared = (self.first("content-length") or "").strip()
        if (
            declared.isdigit()
            and int(declared) > self.req.body_cap
            and not self.req.truncate
            and encoding in ("", "identity")
        ):
            self.error = ProbeError(
                "body_too_large",
                f"{self.req.url} declared a {int(declared)}-byte body (cap {self.req.body_cap})",
                RunStatus.FAIL,
            )
            return 0
        try:
            self.decoder = CappedDecoder(encoding)
        except ProbeError as exc:
            self.error = exc
            return 0
        return None

    def first(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def _has(self, name: str) -> bool:
        return self.first(name) is not None

    # WRITEFUNCTION ------------------------------------------------------------------------

    def on_body(self, data: bytes) -> int | None:
        decoder = self.decoder
        if decoder is None:  # a body libcurl delivers without a header pass (HTTP/0.9)
            self.error = ProbeError("invalid_response", f"{self.req.url} sent no HTTP headers")
            return 0
        cap = self.req.body_cap
        try:
            chunk, leftover = decoder.feed(data, cap - self.size)
        except ProbeError as exc:
            self.error = exc
            return 0
        self.size += len(chunk)
        if self.size > cap or leftover:
            if self.req.truncate:
                self.parts.append(chunk[: max(0, cap - (self.size - len(chunk)))])
                self.truncated = self.stopped = True
                return 0
            self.error = ProbeError(
                "body_too_large", f"{self.req.url} sent a body over the {cap}-byte cap",
                RunStatus.FAIL,
            )  # fmt: skip
            return 0
        self.parts.append(chunk)
        return None

    # DEBUGFUNCTION (verified https only) -------------------------------------------------

    def on_debug(self, kind: int, data: bytes) -> None:
        if kind == pycurl.INFOTYPE_TEXT:
            if data.startswith(b"SSL connection using "):
                fields = data[21:].decode("ascii", "replace").strip().split(" / ")
                self.protocol = fields[0] or None
                self.cipher = fields[1] if len(fields) > 1 else None
            elif b"common name:" in data:
                self.cn_fallback = True
            elif data.startswith(b"SSL certificate verified") or data.startswith(
                b"SSL certificate verify ok"
            ):
                self.verified = True
        elif kind == pycurl.INFOTYPE_SSL_DATA_IN:
            if len(data) > 7 and data[0] == _CERTIFICATE_MESSAGE and not self.chain:
                self.chain = certificate_list(data)
        elif kind == pycurl.INFOTYPE_HEADER_OUT:
            self.headers_sent = True

    def session(self) -> Session | None:
        """The verified handshake, when the debug stream showed all of it."""
        if not (self.verified and self.chain and self.protocol) or self.cn_fallback:
            return None
        return Session(self.protocol, self.cipher, cipher_bits(self.cipher), tuple(self.chain))

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)


class LentSocket:
    """A socket handed to libcurl. pycurl ``dup()``s its ``fileno()``, so ours is closed as
    soon as this is dropped; a socket object dropped open would do the same, but formats a
    ``ResourceWarning`` on the way (~2% of a probe's CPU, seen with ``py-spy``)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def __del__(self) -> None:
        os.close(self.fd)


def certificate_list(message: bytes) -> list[bytes]:
    """The DER certificates of a TLS ``Certificate`` handshake message, leaf first.

    TLS 1.3 puts a request context before the list and extensions after each entry; TLS 1.2
    has neither. The framing that adds up to the message length is the one used."""
    body = message[4 : 4 + int.from_bytes(message[1:4], "big")]
    for tls13 in (False, True):
        start = 1 + body[0] if tls13 else 0
        if len(body) < start + 3:
            continue
        total = int.from_bytes(body[start : start + 3], "big")
        if total != len(body) - start - 3:
            continue
        out, pos, end = [], start + 3, len(body)
        while pos + 3 <= end:
            size = int.from_bytes(body[pos : pos + 3], "big")
            out.append(bytes(body[pos + 3 : pos + 3 + size]))
            pos += 3 + size
            if tls13:
                pos += 2 + int.from_bytes(body[pos : pos + 2], "big")
        if pos == end and out:
            return out
    return []


def cipher_bits(cipher: str | None) -> int | None:
    if not cipher:
        return None
    upper = cipher.upper()
    for needle, bits in _CIPHER_BITS:
        if needle in upper:
            return bits
    return 128 if "AES" in upper else None


def build_handle(req: HopRequest, state: HopState) -> pycurl.Curl:
    """An easy handle for one hop: fresh connection pinned to ``req.addresses[0]``."""
    c = pycurl.Curl()
    c.setopt(pycurl.URL, req.url)
    c.setopt(pycurl.PROTOCOLS, _HTTP_PROTOCOLS)
    c.setopt(pycurl.PROXY, "")  # never an environment proxy: the policy judges the target
    c.setopt(pycurl.NOSIGNAL, 1)
    c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    address = req.addresses[0]
    literal = f"[{address}]" if ":" in address else address
    c.setopt(pycurl.CONNECT_TO, [f"::{literal}:{req.port}"])
    # the address is pinned above, so libcurl's resolver cache holds nothing we reuse; kept,
    # it grows to one entry per target and is swept in full on every transfer (~4% of CPU)
    c.setopt(pycurl.DNS_CACHE_TIMEOUT, 0)
    c.setopt(pycurl.OPENSOCKETFUNCTION, state.open_socket)
    c.setopt(pycurl.FRESH_CONNECT, 1)
    c.setopt(pycurl.FORBID_REUSE, 1)
    c.setopt(pycurl.TIMEOUT_MS, max(1, int(req.timeout * 1000)))
    c.setopt(pycurl.HTTPHEADER, req.headers)
    c.setopt(pycurl.HEADERFUNCTION, state.on_header)
    c.setopt(pycurl.WRITEFUNCTION, state.on_body)
    if req.method == "HEAD":
        c.setopt(pycurl.NOBODY, 1)
    elif req.method != "GET" or req.content is not None:
        if req.content is not None:
            c.setopt(pycurl.POSTFIELDSIZE, len(req.content))
            c.setopt(pycurl.COPYPOSTFIELDS, req.content)
        if req.method != "POST" or req.content is None:
            c.setopt(pycurl.CUSTOMREQUEST, req.method)
    if req.url.startswith("https:"):
        _tls_options(c, req, state)
    return c


def _tls_options(c: pycurl.Curl, req: HopRequest, state: HopState) -> None:
    c.setopt(pycurl.SSL_CIPHER_LIST, CLIENT_CIPHERS)
    c.setopt(pycurl.SSL_EC_CURVES, CLIENT_GROUPS)
    c.setopt(pycurl.SSLVERSION, pycurl.SSLVERSION_TLSv1_2)
    c.setopt(pycurl.SSL_SESSIONID_CACHE, 0)  # a full handshake every time, as for httpx
    c.setopt(_CA_CACHE_TIMEOUT, int(SSL_CONTEXT_TTL_S))  # see ``curl_trust``
    if not req.verify:
        c.setopt(pycurl.SSL_VERIFYPEER, 0)
        c.setopt(pycurl.SSL_VERIFYHOST, 0)
        return
    if req.ca_path:
        c.setopt(req.ca_option, req.ca_path)
    # the debug stream shows which rule matched the host name (we refuse the subject-CN
    # fallback, as the ssl module does) and carries the chain for a shared handshake
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, state.on_debug)
