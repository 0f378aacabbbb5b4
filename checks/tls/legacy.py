"""Does the server accept TLS 1.0 / 1.1? One hand-built ClientHello per version, no handshake.

A server accepts a protocol version when it answers a ClientHello offering at most that
version with a ServerHello *choosing* it; a refusal is a fatal alert, a lower version, a
closed connection or something that is not TLS; warning alerts before the ServerHello are
skipped and a ServerHello split over records is put back together. That is what
sslyze/testssl.sh protocol scans read, and it needs no OpenSSL at ``@SECLEVEL=0`` (whose
build may not even offer TLS 1.0) and no key exchange: one round trip, a few hundred bytes,
no crypto on our side.

The hello offers every TLS 1.0/1.1 cipher suite OpenSSL's ``ALL`` has (and the legacy RC4
and anonymous suites a modern OpenSSL no longer builds), the usual ECC extensions and SNI,
so a server that would complete a legacy handshake with any client picks a suite and answers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import Callable

from checks.base import ProbeError

#: label -> wire version, in the order the facts list them
LEGACY_WIRE_VERSIONS: tuple[tuple[str, int], ...] = (("TLSv1", 0x0301), ("TLSv1.1", 0x0302))

_RECORD_HANDSHAKE = 22
_RECORD_ALERT = 21
_SERVER_HELLO = 2
_ALERT_WARNING = 1
_CLOSE_NOTIFY = 0

#: the longest a probe waits for a server that stays silent on a legacy hello (some drop
#: it): the check's deadline is shared with the handshake and the analysis
LEGACY_WAIT_S = 5.0
#: bytes read before a ServerHello shows; a few warning alerts and fragments fit easily
ANSWER_CAP = 1024

# fmt: off
#: cipher suites valid before TLS 1.2 (ECDHE/DHE/RSA/anon × AES/CAMELLIA/SEED/3DES/RC4)
CIPHER_SUITES: tuple[int, ...] = (
    0xC00A, 0xC014, 0x0039, 0x0038, 0xC009, 0xC013, 0x0033, 0x0032,  # (EC)DHE AES
    0x0035, 0x002F,                                                  # RSA AES
    0x0088, 0x0087, 0x0084, 0x0045, 0x0044, 0x0041,                  # CAMELLIA
    0x009A, 0x0099, 0x0096,                                          # SEED
    0xC008, 0xC012, 0x0016, 0x0013, 0x000A,                          # 3DES
    0xC007, 0xC011, 0x0005, 0x0004,                                  # RC4
    0xC019, 0xC018, 0x003A, 0x0034, 0x0089, 0x0046, 0x009B, 0x001B,  # anonymous
    0x00FF,                                                          # renegotiation SCSV
)
#: x25519, secp256r1, x448, secp521r1, secp384r1, ffdhe2048, ffdhe3072
GROUPS: tuple[int, ...] = (0x001D, 0x0017, 0x001E, 0x0019, 0x0018, 0x0100, 0x0101)
# fmt: on


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def client_hello(
    version: int,
    server_name: str | None,
    suites: tuple[int, ...] = CIPHER_SUITES,
    extra_extensions: bytes = b"",
) -> bytes:
    """One TLS record holding a ClientHello whose highest version is ``version``."""
    exts = b""
    if server_name:
        name = server_name.encode("idna")
        entry = b"\x00" + struct.pack("!H", len(name)) + name
        exts += _ext(0x0000, struct.pack("!H", len(entry)) + entry)
    groups = b"".join(struct.pack("!H", g) for g in GROUPS)
    exts += _ext(0x000A, struct.pack("!H", len(groups)) + groups)
    exts += _ext(0x000B, b"\x01\x00")  # ec_point_formats: uncompressed
    exts += _ext(0x0017, b"")  # extended_master_secret
    exts += _ext(0x0023, b"")  # session_ticket
    exts += extra_extensions
    packed = b"".join(struct.pack("!H", s) for s in suites)
    body = (
        struct.pack("!H", version)
        + os.urandom(32)
        + b"\x00"  # no session id
        + struct.pack("!H", len(packed))
        + packed
        + b"\x01\x00"  # compression: null only
        + struct.pack("!H", len(exts))
        + exts
    )
    handshake = bytes([1]) + len(body).to_bytes(3, "big") + body
    return struct.pack("!BHH", _RECORD_HANDSHAKE, 0x0301, len(handshake)) + handshake


def chosen_version(handshake: bytes) -> int | None:
    """The version a ServerHello chose, from the first 6 bytes of the server's handshake
    stream (records already unwrapped); None when it is not a ServerHello."""
    if len(handshake) < 6 or handshake[0] != _SERVER_HELLO:
        return None
    return int.from_bytes(handshake[4:6], "big")


async def _recv_exactly(loop: asyncio.AbstractEventLoop, sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = await loop.sock_recv(sock, n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


async def read_handshake(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, need: Callable[[bytes], int]
) -> bytes | None:
    """The first handshake bytes the server sends (``need(so_far)`` says how many are
    wanted); None when it refused the hello.

    Reads records until enough handshake bytes are in: warning-level alerts (an old
    Apache/OpenSSL SNI callback sends ``unrecognized_name`` before its ServerHello) are
    skipped, a ServerHello split over several records is put back together. A fatal alert,
    ``close_notify``, a record that is not handshake/alert or not TLS (major version 3), or
    more than :data:`ANSWER_CAP` bytes without a ServerHello is a refusal, read at once.
    """
    handshake = b""
    alerts = b""
    spent = 0
    while True:
        head = await _recv_exactly(loop, sock, 5)
        kind, major, length = head[0], head[1], int.from_bytes(head[3:5], "big")
        if kind not in (_RECORD_ALERT, _RECORD_HANDSHAKE) or major != 3 or length == 0:
            return None
        spent += 5
        if kind == _RECORD_HANDSHAKE:
            # of a handshake record only the bytes still missing: the rest is never needed
            left = length
            while left and len(handshake) < need(handshake):
                take = min(left, need(handshake) - len(handshake))
                spent += take
                if spent > ANSWER_CAP:
                    return None
                handshake += await _recv_exactly(loop, sock, take)
                left -= take
            if len(handshake) >= need(handshake):
                return handshake
            continue
        spent += length
        if spent > ANSWER_CAP:
            return None
        alerts += await _recv_exactly(loop, sock, length)
        while len(alerts) >= 2:
            level, description = alerts[0], alerts[1]
            if level != _ALERT_WARNING or description == _CLOSE_NOTIFY:
                return None
            alerts = alerts[2:]


async def exchange_hello(
    addr: str,
    port: int,
    hello: bytes,
    need: Callable[[bytes], int],
    remaining: Callable[[], float],
    wait_s: float = LEGACY_WAIT_S,
) -> tuple[bool, bytes | None]:
    """Send one ClientHello, read the server's first handshake bytes.

    ``(True, bytes)`` answered, ``(True, None)`` refused, ``(False, None)`` not tested (no
    socket, no TCP connection, no answer within ``wait_s`` or the deadline, whichever is
    sooner). A bare non-blocking socket on the event loop: no transport or stream objects
    for what is one write and a few short reads.
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:  # out of file descriptors, say: nothing was tested
        return False, None
    try:
        sock.setblocking(False)
        async with asyncio.timeout(max(0.0, min(wait_s, remaining()))):
            try:
                await loop.sock_connect(sock, (addr, port))
            except OSError as exc:
                raise ProbeError("unreachable", f"cannot connect to {addr}:{port}: {exc}") from exc
            await loop.sock_sendall(sock, hello)
            return True, await read_handshake(loop, sock, need)
    except (TimeoutError, ProbeError):
        return False, None
    except (OSError, EOFError):
        return True, None  # closed or reset on the hello: refused
    finally:
        sock.close()


async def probe_version(
    addr: str,
    port: int,
    server_name: str | None,
    version: int,
    remaining: Callable[[], float],
    wait_s: float = LEGACY_WAIT_S,
) -> bool | None:
    """True when the server chooses ``version``, False when it refuses, None when it could
    not be tested (see :func:`exchange_hello`)."""
    try:
        hello = client_hello(version, server_name)
    except UnicodeError:  # a name the IDNA codec cannot encode: no SNI to send
        return None
    tested, answer = await exchange_hello(addr, port, hello, lambda _: 6, remaining, wait_s)
    if not tested:
        return None
    return answer is not None and chosen_version(answer) == version


async def legacy_versions(
    addr: str,
    port: int,
    server_name: str | None,
    remaining: Callable[[], float],
    wait_s: float = LEGACY_WAIT_S,
) -> dict[str, bool | None]:
    """For TLS 1.0 and 1.1: True accepted, False refused, None could not be tested."""
    results = await asyncio.gather(
        *(
            probe_version(addr, port, server_name, v, remaining, wait_s)
            for _, v in LEGACY_WIRE_VERSIONS
        )
    )
    return {label: ok for (label, _), ok in zip(LEGACY_WIRE_VERSIONS, results, strict=True)}
