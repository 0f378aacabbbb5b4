"""Client SSL contexts and the trust store each was built from.

The prober's clients and the ``tls`` check's strict handshakes take their contexts from one
cache, so both verify against the same store version and a probe's handshake can stand in
for the check's own (``auditor.probe.handshakes``).
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Any

from auditor.probe.handshakes import HandshakeLedger, session_of, trust_stamp
from auditor.probe.interface import Session, TlsObservation, TrustKey
from auditor.probe.outcome import ProbeError

#: built contexts are reused for this long (loading the system store costs ~10-100 ms CPU)
SSL_CONTEXT_TTL_S = 300.0
_ContextEntry = tuple[float, ssl.SSLContext, TrustKey | None]
_ssl_contexts: dict[tuple[bool, str | None, int, int], _ContextEntry] = {}

#: client cipher suites: Python's preferred AEAD suites first, then every other suite OpenSSL
#: has (the CBC suites with SHA-1 MACs Python's default list drops), as curl and browsers
#: offer them: a TLS 1.2 server that offers only ``ECDHE-RSA-AES128-SHA`` is reachable, and
#: the ``tls`` check, not every HTTP probe, judges weak suites. The security level stays 2
#: (Python's): certificate verification is exactly as strict as before (no RSA < 2048-bit
#: or SHA-1-signed chains), so a probe's handshake still stands in for the tls check's.
CLIENT_CIPHERS = (
    "ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:ALL:!aNULL:!eNULL:!PSK:!SRP:@SECLEVEL=2"
)


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
        ctx.set_ciphers(CLIENT_CIPHERS)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    try:
        ctx = (
            ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        )
    except (OSError, ssl.SSLError, ValueError) as exc:
        # the operator's file, not the target, is at fault: say so instead of crashing
        raise ProbeError(
            "config",
            f"ca_file {ca_file!r} cannot be loaded as a PEM CA bundle "
            f"({getattr(exc, 'strerror', None) or exc}); point ca_file at the CA certificate(s) "
            "that sign the service's chain",
        ) from None
    ctx.set_ciphers(CLIENT_CIPHERS)
    ctx.hostname_checks_common_name = False
    return ctx


def is_strict(ctx: ssl.SSLContext) -> bool:
    """Verifies chain and hostname, without the CN fallback: the tls check's strict client."""
    return (
        ctx.verify_mode == ssl.CERT_REQUIRED
        and ctx.check_hostname
        and not ctx.hostname_checks_common_name
    )


def strict_trust(ca_file: str | None) -> TrustKey | None:
    """The trust key of the strict context handed out now: a shared handshake must have been
    verified against that same store version. None when the store cannot be loaded (the
    handshake and the anchors report that)."""
    try:
        return ssl_context_and_trust(True, ca_file)[1]
    except (OSError, ssl.SSLError, ValueError):
        return None


@dataclass(frozen=True)
class ProberTls:
    """The prober's TLS side as the ``tls`` check sees it (``interface.TlsHandshakes``)."""

    ledger: HandshakeLedger

    def strict_context(self, ca_file: str | None) -> ssl.SSLContext:
        return build_ssl_context(True, ca_file)

    def strict_trust(self, ca_file: str | None) -> TrustKey | None:
        return strict_trust(ca_file)

    def session_of(self, ssl_object: Any) -> Session:
        return session_of(ssl_object)

    async def shared(
        self, host: str, port: int, trust: TrustKey | None, addresses: list[str], wait_s: float
    ) -> TlsObservation | None:
        return await self.ledger.shared(host, port, trust, addresses, wait_s)
