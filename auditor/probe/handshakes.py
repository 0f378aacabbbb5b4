"""Verified TLS handshakes seen by HTTP probes, for the ``tls`` check to reuse.

A service's ``health`` (or ``headers``) probe and its ``tls`` check both open a TLS connection
to the same host in the same pass; blackbox_exporter's ``http_2xx`` does one handshake for both.
``HttpProber`` records what each *new, verified* HTTPS connection's handshake showed (chain as
sent, protocol, cipher, peer address) in this small ledger, keyed by (SNI host, port, trust
store); a ``tls`` check finding a matching observation younger than
:data:`SHARED_HANDSHAKE_TTL_S` whose address is one its own resolution allows uses it instead
of a new handshake. A handshake still in flight is awaited (single-flight), briefly.

Soundness: only contexts that verify the chain *and* the hostname (without the CN fallback) —
exactly the ``tls`` check's strict client — are recorded, under the trust store they were built
for; a CA file (``ca_file`` or the system bundle) is keyed by path, mtime and size as of
the context's build, so a changed file or another trust store never matches; a permissive (unverified) handshake is
never recorded at all, and a failed verification records nothing either.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections import OrderedDict
from typing import Any

from auditor.probe.interface import Session, TlsObservation, TrustKey

#: how old an observation may be and still stand in for the tls check's own handshake: a
#: probe pass runs a service's checks within seconds; a certificate swapped within this
#: window is seen by the next run
SHARED_HANDSHAKE_TTL_S = 30.0
#: bounded: one entry per (host, port, trust store); oldest dropped first
SHARED_HANDSHAKE_MAX = 2048
#: longest a tls check waits for an HTTP probe's handshake in flight before doing its own
SHARED_HANDSHAKE_WAIT_S = 5.0

LedgerKey = tuple[str, int, TrustKey]
_ENCODING_DER = 2  # _ssl.ENCODING_DER


def chain_der(ssl_object: Any) -> list[bytes]:
    """The chain as sent (unverified), leaf first. Public on 3.13+, private on 3.11/3.12."""
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is None:
        inner = getattr(ssl_object, "_sslobj", None)
        getter = getattr(inner, "get_unverified_chain", None)
    items: list[Any] = []
    if getter is not None:
        with contextlib.suppress(Exception):
            items = list(getter() or [])
    out = []
    for item in items:
        out.append(item if isinstance(item, bytes) else item.public_bytes(_ENCODING_DER))
    if not out:
        leaf = ssl_object.getpeercert(binary_form=True)
        if leaf:
            out.append(leaf)
    return out


def session_of(ssl_object: Any) -> Session:
    """The :class:`Session` of a connected ``ssl.SSLObject``/``SSLSocket``: one reading for
    the prober's observations and the ``tls`` check's own handshakes."""
    cipher = ssl_object.cipher()
    return Session(
        protocol=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        cipher_bits=cipher[2] if cipher else None,
        chain_der=tuple(chain_der(ssl_object)),
    )


def trust_stamp(ca_file: str | None) -> TrustKey:
    """Which trust store a verifying context built *now* loads, and which version of it:
    ``ca_file``, else the system bundle, by path, mtime and size.

    Take it when the context is built and keep it with the context (``ssl_context_and_trust``
    in ``auditor.probe.tls_context``): a context outlives later changes of its file.
    """
    kind, path = ("ca_file", ca_file) if ca_file else ("system", system_bundle())
    try:
        st = os.stat(path)
    except OSError:
        return (kind, path, -1, -1)
    return (kind, path, st.st_mtime_ns, st.st_size)


def system_bundle() -> str:
    """The file (else directory) a default context loads its roots from; ``cafile`` honours
    ``SSL_CERT_FILE`` as OpenSSL does, unlike ``openssl_cafile``."""
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.capath or ""


def host_key(host: str) -> str:
    """A host as the ledger keys it: lowercase ASCII, IDNA-encoded as ``ssl`` encodes SNI.

    httpcore hands the prober's streams the punycode name; the ``tls`` check starts from the
    URL's Unicode one. Both must meet under one key (and a name the two encode differently
    is rightly never shared: the two clients would send different SNI).
    """
    low = host.lower()
    if low.isascii():
        return low
    try:
        return low.encode("idna").decode("ascii")
    except UnicodeError:
        return low


def _norm(key: LedgerKey) -> LedgerKey:
    return (host_key(key[0]), key[1], key[2])


class HandshakeLedger:
    """Bounded, TTL'd observations plus the handshakes still in flight, per key (hosts in
    :func:`host_key` form, whatever form callers pass)."""

    def __init__(
        self, ttl_s: float = SHARED_HANDSHAKE_TTL_S, max_entries: int = SHARED_HANDSHAKE_MAX
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._seen: OrderedDict[LedgerKey, TlsObservation] = OrderedDict()
        self._pending: dict[LedgerKey, asyncio.Future[TlsObservation | None]] = {}

    def expect(self, key: LedgerKey) -> asyncio.Future[TlsObservation | None]:
        """A handshake for ``key`` may be about to start: waiters can await this future."""
        key = _norm(key)
        fut = self._pending.get(key)
        if fut is None or fut.done():
            fut = asyncio.get_running_loop().create_future()
            self._pending[key] = fut
        return fut

    def settle(self, key: LedgerKey, observation: TlsObservation | None) -> None:
        """The expected handshake finished (``observation``) or will not happen (None)."""
        fut = self._pending.pop(_norm(key), None)
        if fut is not None and not fut.done():
            fut.set_result(observation)

    def release(self, key: LedgerKey, fut: asyncio.Future[TlsObservation | None]) -> None:
        """The request that called :meth:`expect` is over: if its handshake never came (a
        pooled connection, a failure before TLS), waiters stop waiting."""
        key = _norm(key)
        if self._pending.get(key) is fut:
            del self._pending[key]
        if not fut.done():
            fut.set_result(None)

    def record(self, observation: TlsObservation) -> None:
        key = (host_key(observation.host), observation.port, observation.trust)
        self._seen[key] = observation
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        self.settle(key, observation)

    def _usable(self, obs: TlsObservation | None, addresses: list[str]) -> TlsObservation | None:
        if obs is None or obs.age() > self.ttl_s or obs.address not in addresses:
            return None
        return obs

    async def shared(
        self,
        host: str,
        port: int,
        trust: TrustKey | None,
        addresses: list[str],
        wait_s: float,
    ) -> TlsObservation | None:
        """A fresh verified observation for this host/port/trust store at one of
        ``addresses``, awaiting one in flight for at most ``wait_s``; else None."""
        if trust is None:
            return None
        key = (host_key(host), port, trust)
        obs = self._usable(self._seen.get(key), addresses)
        if obs is not None:
            return obs
        fut = self._pending.get(key)
        if fut is None:
            return None
        try:
            async with asyncio.timeout(max(0.0, min(wait_s, SHARED_HANDSHAKE_WAIT_S))):
                got = await asyncio.shield(fut)
        except TimeoutError:
            return None
        return self._usable(got, addresses)
