"""TLS I/O for the ``tls`` check: policy-checked connects and raw ``ssl`` handshakes.

Everything here runs inside the runner's total deadline: every await is bounded by
``ctx.remaining()``. Connections go to an address the policy accepted (never a second DNS
lookup), with SNI set to the hostname. The permissive handshake captures the chain the
server presents even when it would not verify; the strict one records what a normal
Python/OpenSSL client concludes. TLS 1.0/1.1 are tested without a handshake (``legacy``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from auditor.probe.addresses import AddressPolicy
from auditor.probe.handshakes import Session, TrustKey, session_of
from auditor.probe.http import build_ssl_context, ssl_context_and_trust
from checks.base import ProbeError, RunStatus

#: OpenSSL 3 refuses TLS < 1.2 and SHA-1/MD5/small-key chains above security level 0.
PERMISSIVE_CIPHERS = "ALL:@SECLEVEL=0"


#: what one completed handshake showed (the prober's observations hold the same)
Handshake = Session


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve_allowed(
    host: str, port: int, policy: AddressPolicy, remaining: Callable[[], float]
) -> list[str]:
    """Addresses of ``host`` the policy allows; raises ``dns`` / ``blocked_by_policy``."""
    if is_ip(host):
        addresses = [host]
    else:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(remaining()):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ProbeError("dns", f"cannot resolve {host}: {exc.strerror or exc}") from exc
        except UnicodeError as exc:  # a label IDNA cannot encode (empty, over 63 characters)
            raise ProbeError(
                "dns", f"cannot resolve {host}: not a valid host name ({exc})"
            ) from exc
        addresses = []
        for info in infos:
            addr = str(info[4][0])
            if addr not in addresses:
                addresses.append(addr)
    allowed, refusals = [], []
    for addr in addresses:
        reason = policy.verdict(addr)
        if reason is None:
            allowed.append(addr)
        else:
            refusals.append(reason)
    if not allowed:
        detail = "; ".join(refusals) or "no address"
        raise ProbeError("blocked_by_policy", f"{host}: blocked by the address policy ({detail})")
    return allowed


@lru_cache(maxsize=1)
def permissive_context() -> ssl.SSLContext:
    """No verification, every protocol and cipher this OpenSSL has: we want to *see* the chain.

    Built once and shared: nothing mutates it afterwards and an ``SSLContext`` serves
    concurrent handshakes.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers(PERMISSIVE_CIPHERS)
    with warnings.catch_warnings():  # TLSVersion.TLSv1* is deprecated: we use it on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return ctx


def strict_context(ca_file: str | None) -> ssl.SSLContext:
    """What a careful client does: system roots (or ``ca_file``), hostname check, no CN fallback."""
    return build_ssl_context(True, ca_file)


def strict_trust(ca_file: str | None) -> TrustKey | None:
    """The trust key of the context :func:`strict_context` hands out now: a shared handshake
    must have been verified against that same store version. None when the store cannot
    be loaded (the handshake and the anchors report that)."""
    try:
        return ssl_context_and_trust(True, ca_file)[1]
    except (OSError, ssl.SSLError, ValueError):
        return None


async def handshake(
    addr: str,
    port: int,
    server_hostname: str,
    ctx: ssl.SSLContext,
    remaining: Callable[[], float],
) -> Handshake:
    """Connect and complete one TLS handshake.

    TCP failures raise ProbeError (``refused``/``unreachable``); handshake failures raise
    ``ssl.SSLError``/``OSError`` so each caller decides what they mean.
    """
    async with asyncio.timeout(remaining()):
        try:
            _reader, writer = await asyncio.open_connection(addr, port)
        except ConnectionRefusedError as exc:
            raise ProbeError("refused", f"connection to {addr}:{port} refused") from exc
        except OSError as exc:
            raise ProbeError("unreachable", f"cannot connect to {addr}:{port}: {exc}") from exc
        try:
            await writer.start_tls(ctx, server_hostname=server_hostname)
            obj = writer.get_extra_info("ssl_object")
            return session_of(obj) if obj is not None else Handshake(None, None, None)
        finally:
            # abort, not close: a graceful TLS shutdown can wait for the peer far too long
            writer.transport.abort()


def describe_handshake_error(exc: BaseException) -> str:
    """A human reason, recognising the common "this port speaks plain text" case."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if any(s in low for s in ("wrong version number", "record layer failure", "packet length")):
        return f"the server did not answer with TLS (plain text on a TLS port?): {text}"
    if isinstance(exc, ConnectionResetError | asyncio.IncompleteReadError | EOFError):
        return f"the server closed the connection during the TLS handshake: {text}"
    return text


def _verdict_of(exc: BaseException) -> dict[str, Any]:
    """What a strict client concluded from its failed handshake."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return {"ok": False, "code": exc.verify_code, "message": exc.verify_message}
    return {"ok": False, "code": None, "message": describe_handshake_error(exc)}


async def verified_handshake(
    addresses: list[str],
    port: int,
    host: str,
    ca_file: str | None,
    remaining: Callable[[], float],
) -> tuple[str, Handshake, dict[str, Any]]:
    """(address, handshake, strict client verdict) with as few handshakes as possible.

    The strict handshake (what a careful client does) comes first: when it succeeds, its
    chain *as sent* is the one analysed and the verdict is "ok", one handshake in all. Only
    when it fails is a permissive handshake made on the same address, to capture the chain
    that would not verify (or the one a legacy-only server offers); the strict failure is the
    verdict. TCP failures try the next address and are ``error`` when none is left; a port
    that accepts TCP but completes no TLS handshake at all is the target's fault, ``fail``.
    """
    last: ProbeError | None = None
    for addr in addresses:
        try:
            hs = await handshake(addr, port, host, strict_context(ca_file), remaining)
            return addr, hs, {"ok": True, "code": 0, "message": "ok"}
        except ProbeError as exc:  # TCP failed on this address: try the next one
            last = exc
            continue
        except TimeoutError:  # an OSError subclass, but it means "no answer", not "no TLS"
            raise
        except (ssl.SSLError, OSError, EOFError, asyncio.IncompleteReadError) as exc:
            verdict = _verdict_of(exc)
        try:
            hs = await handshake(addr, port, host, permissive_context(), remaining)
        except ProbeError as exc:  # TCP failed on the second connection: the next address
            last = exc
            continue
        except TimeoutError:
            raise
        except (ssl.SSLError, OSError, EOFError, asyncio.IncompleteReadError) as exc:
            raise ProbeError(
                "tls",
                f"TLS handshake with {host}:{port} failed: {describe_handshake_error(exc)}",
                RunStatus.FAIL,
            ) from exc
        return addr, hs, verdict
    assert last is not None
    raise last
