"""TLS I/O for the ``tls`` check: policy-checked connects and raw ``ssl`` handshakes.

Everything here runs inside the runner's total deadline: every await is bounded by
``ctx.remaining()``. Connections go to an address the prober's policy accepted
(``ctx.http.allowed_addresses``, never a second DNS lookup), with SNI set to the hostname;
strict contexts come from the prober (``ctx.http.tls``) so a probe's verified handshake can
stand in for this check's own. The permissive handshake captures the chain the
server presents even when it would not verify; the strict one records what a normal
Python/OpenSSL client concludes. TLS 1.0/1.1 are tested without a handshake (``legacy``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from auditor.probe.interface import Prober, Session, TlsHandshakes
from auditor.probe.outcome import plain_ssl_text
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
    host: str, port: int, prober: Prober, remaining: Callable[[], float]
) -> list[str]:
    """Addresses of ``host`` the policy allows; raises ``dns`` / ``blocked_by_policy``."""
    async with asyncio.timeout(remaining()):
        return await prober.allowed_addresses(host, port)


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


async def handshake(
    addr: str,
    port: int,
    server_hostname: str,
    ctx: ssl.SSLContext,
    remaining: Callable[[], float],
    tls: TlsHandshakes,
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
            return tls.session_of(obj) if obj is not None else Handshake(None, None, None)
        finally:
            # abort, not close: a graceful TLS shutdown can wait for the peer far too long
            writer.transport.abort()


def describe_handshake_error(exc: BaseException) -> str:
    """A human reason, recognising the common "this port speaks plain text" case."""
    text = plain_ssl_text(str(exc)) or type(exc).__name__
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
    tls: TlsHandshakes,
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
            hs = await handshake(addr, port, host, tls.strict_context(ca_file), remaining, tls)
            return addr, hs, {"ok": True, "code": 0, "message": "ok"}
        except ProbeError as exc:  # TCP failed on this address: try the next one
            last = exc
            continue
        except TimeoutError:  # an OSError subclass, but it means "no answer", not "no TLS"
            raise
        except (ssl.SSLError, OSError, EOFError, asyncio.IncompleteReadError) as exc:
            verdict = _verdict_of(exc)
        try:
            hs = await handshake(addr, port, host, permissive_context(), remaining, tls)
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
