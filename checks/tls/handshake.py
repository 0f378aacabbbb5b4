"""TLS I/O for the ``tls`` check: policy-checked connects and raw ``ssl`` handshakes.

Everything here runs inside the runner's total deadline: every await is bounded by
``ctx.remaining()``. Connections go to an address the policy accepted (never a second DNS
lookup), with SNI set to the hostname. The permissive handshake captures the chain the
server presents even when it would not verify; the strict one records what a normal
Python/OpenSSL client concludes; single-version handshakes test for TLS 1.0/1.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auditor.httpprobe import build_ssl_context
from auditor.netpolicy import AddressPolicy
from checks.base import ProbeError, RunStatus

#: OpenSSL 3 refuses TLS < 1.2 and SHA-1/MD5/small-key chains above security level 0.
PERMISSIVE_CIPHERS = "ALL:@SECLEVEL=0"
LEGACY_VERSIONS: tuple[tuple[str, str], ...] = (("TLSv1", "TLSv1"), ("TLSv1.1", "TLSv1_1"))
_ENCODING_DER = 2  # _ssl.ENCODING_DER


@dataclass
class Handshake:
    """What one completed handshake showed."""

    protocol: str | None
    cipher: str | None
    cipher_bits: int | None
    chain_der: list[bytes] = field(default_factory=list)


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


def permissive_context(version: str | None = None) -> ssl.SSLContext:
    """No verification, every protocol and cipher this OpenSSL has: we want to *see* the chain.

    ``version`` pins one protocol (``"TLSv1"``/``"TLSv1_1"``) for legacy probing.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers(PERMISSIVE_CIPHERS)
    with warnings.catch_warnings():  # TLSVersion.TLSv1* is deprecated: we use it on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        if version is None:
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        else:
            pinned = getattr(ssl.TLSVersion, version)
            ctx.minimum_version = pinned
            ctx.maximum_version = pinned
    return ctx


def strict_context(ca_file: str | None) -> ssl.SSLContext:
    """What a careful client does: system roots (or ``ca_file``), hostname check, no CN fallback."""
    return build_ssl_context(True, ca_file)


def _chain_der(ssl_object: Any) -> list[bytes]:
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
            cipher = obj.cipher() if obj is not None else None
            return Handshake(
                protocol=obj.version() if obj is not None else None,
                cipher=cipher[0] if cipher else None,
                cipher_bits=cipher[2] if cipher else None,
                chain_der=_chain_der(obj) if obj is not None else [],
            )
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


async def main_handshake(
    addresses: list[str], port: int, host: str, remaining: Callable[[], float]
) -> tuple[str, Handshake]:
    """The permissive handshake whose chain everything is analysed from.

    TCP-level failures are ``error`` (nothing measured); a port that accepts TCP but does not
    complete a TLS handshake is the target's fault, so ``tls`` with status ``fail``.
    """
    last: ProbeError | None = None
    for addr in addresses:
        try:
            return addr, await handshake(addr, port, host, permissive_context(), remaining)
        except ProbeError as exc:  # TCP failed on this address: try the next one
            last = exc
        except TimeoutError:  # an OSError subclass, but it means "no answer", not "no TLS"
            raise
        except (ssl.SSLError, OSError, EOFError, asyncio.IncompleteReadError) as exc:
            raise ProbeError(
                "tls",
                f"TLS handshake with {host}:{port} failed: {describe_handshake_error(exc)}",
                RunStatus.FAIL,
            ) from exc
    assert last is not None
    raise last


async def strict_verify(
    addr: str, port: int, host: str, ca_file: str | None, remaining: Callable[[], float]
) -> dict[str, Any]:
    """What a default-strict client concludes (OpenSSL's first verify error, if any)."""
    try:
        await handshake(addr, port, host, strict_context(ca_file), remaining)
    except ssl.SSLCertVerificationError as exc:
        return {"ok": False, "code": exc.verify_code, "message": exc.verify_message}
    except ProbeError as exc:
        return {"ok": None, "code": None, "message": exc.message}
    except TimeoutError:
        return {"ok": None, "code": None, "message": "no answer before the deadline"}
    except (ssl.SSLError, OSError, EOFError, asyncio.IncompleteReadError) as exc:
        return {"ok": False, "code": None, "message": describe_handshake_error(exc)}
    return {"ok": True, "code": 0, "message": "ok"}


async def legacy_versions(
    addr: str, port: int, host: str, remaining: Callable[[], float]
) -> dict[str, bool | None]:
    """For TLS 1.0 and 1.1: True accepted, False refused, None could not be tested here."""
    out: dict[str, bool | None] = {}
    for label, attr in LEGACY_VERSIONS:
        try:
            ctx = permissive_context(attr)
        except (ValueError, ssl.SSLError, AttributeError):
            out[label] = None  # this OpenSSL build cannot offer the version at all
            continue
        try:
            hs = await handshake(addr, port, host, ctx, remaining)
            out[label] = hs.protocol == label
        except (TimeoutError, ProbeError):
            out[label] = None
        except ssl.SSLError as exc:
            # this OpenSSL build cannot offer the version: unknown, not "refused"
            unsupported = "no protocols available" in str(exc).lower()
            out[label] = None if unsupported else False
        except (OSError, EOFError, asyncio.IncompleteReadError):
            out[label] = False
    return out
