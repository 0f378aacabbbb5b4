"""Which TLS 1.2 cipher suites does the server accept? One ClientHello per suite group.

Like the legacy-protocol probe (``legacy``), each probe is a hand-built TLS 1.2 ClientHello
offering one group of suites (``suites.GROUPS``) and reads the ServerHello: a server that
answers with a suite from the group accepts it, an alert or a closed connection refuses
the group. This is the handshake as the server runs it (the suite is the server's
choice), one round trip per group, and it needs no OpenSSL support on our side: this
OpenSSL 3 cannot even offer RC4, 3DES or EXPORT suites, at any security level, so a
``set_ciphers`` scan would be blind to exactly the worst ones. One accepted suite per
group is recorded (the one the server picked), which is what the grading needs.

Results are cached per (address, port, server name) for ``CACHE_TTL_S``: every tls check
on the same endpoint within that window reuses one scan, as handshakes are shared.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from checks.tls.legacy import _SERVER_HELLO, _ext, client_hello, exchange_hello
from checks.tls.suites import GROUPS, NAME_OF

TLS12 = 0x0303
#: the longest a group probe waits for an answer (the check's deadline also bounds it)
SCAN_WAIT_S = 5.0
CACHE_TTL_S = 600.0
CACHE_SIZE = 512

# fmt: off
#: rsa_pkcs1 sha256/384/512/sha1, rsa_pss_rsae sha256/384/512, ecdsa sha256/384/512/sha1,
#: ed25519, ed448
SIGNATURE_ALGORITHMS: tuple[int, ...] = (
    0x0401, 0x0501, 0x0601, 0x0804, 0x0805, 0x0806, 0x0403, 0x0503, 0x0603,
    0x0807, 0x0808, 0x0201, 0x0203,
)
# fmt: on

_TLS12_EXTENSIONS = _ext(
    0x000D,
    struct.pack("!H", 2 * len(SIGNATURE_ALGORITHMS))
    + b"".join(struct.pack("!H", a) for a in SIGNATURE_ALGORITHMS),
) + _ext(0xFF01, b"\x00")  # renegotiation_info (empty: a first handshake)

_cache: OrderedDict[tuple[str, int, str | None], tuple[float, dict[str, Any]]] = OrderedDict()


def _server_hello_size(handshake: bytes) -> int:
    """Bytes of a ServerHello up to its cipher suite (header, version, random, session id)."""
    if handshake and handshake[0] != _SERVER_HELLO:
        return len(handshake)  # not a ServerHello: stop reading
    if len(handshake) < 39:
        return 39
    return 39 + handshake[38] + 2


def chosen_suite(handshake: bytes) -> tuple[int, int] | None:
    """(version, cipher suite) a ServerHello chose; None when it is not one."""
    if len(handshake) < 39 or handshake[0] != _SERVER_HELLO:
        return None
    end = 39 + handshake[38]
    if len(handshake) < end + 2:
        return None
    version = int.from_bytes(handshake[4:6], "big")
    return version, int.from_bytes(handshake[end : end + 2], "big")


async def probe_group(
    addr: str,
    port: int,
    server_name: str | None,
    group: str,
    remaining: Callable[[], float],
    wait_s: float = SCAN_WAIT_S,
) -> tuple[bool, str | None]:
    """(tested, the suite of ``group`` the server chose or None when it refused)."""
    offered = GROUPS[group]
    try:
        hello = client_hello(TLS12, server_name, tuple(i for i, _ in offered), _TLS12_EXTENSIONS)
    except UnicodeError:
        return False, None
    tested, answer = await exchange_hello(addr, port, hello, _server_hello_size, remaining, wait_s)
    chosen = chosen_suite(answer) if answer else None
    if chosen is None or chosen[1] not in {i for i, _ in offered}:
        return tested, None  # refused, or an answer that is not a suite we offered
    return tested, NAME_OF[chosen[1]]


async def scan(
    addr: str,
    port: int,
    server_name: str | None,
    remaining: Callable[[], float],
    wait_s: float = SCAN_WAIT_S,
) -> dict[str, Any]:
    """``{"groups": {group: suite or None}, "untested": [...], "cached": bool, "age_s"}``.

    All groups are probed at once (one short connection each), bounded by ``wait_s`` and
    the check's deadline; a complete scan is cached, a partial one is not.
    """
    key = (addr, port, server_name)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_TTL_S:
        return {**hit[1], "cached": True, "age_s": round(now - hit[0], 1)}
    results = await asyncio.gather(
        *(probe_group(addr, port, server_name, g, remaining, wait_s) for g in GROUPS)
    )
    groups = {g: suite for g, (_, suite) in zip(GROUPS, results, strict=True)}
    untested = [g for g, (tested, _) in zip(GROUPS, results, strict=True) if not tested]
    out: dict[str, Any] = {"groups": groups, "untested": untested}
    if not untested:
        _cache[key] = (now, out)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return {**out, "cached": False, "age_s": 0.0}


def forget() -> None:
    """Drop every cached scan (tests, and a configuration reload)."""
    _cache.clear()
