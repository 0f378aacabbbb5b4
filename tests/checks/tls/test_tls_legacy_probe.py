"""The handshake-free TLS 1.0/1.1 probe against real local TLS servers."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from checks.tls.legacy import chosen_version, client_hello, legacy_versions
from tests.checks.tls.conftest import Corpus
from tests.checks.tls.servers import ThreadedServer, server_context, tls_server

ADDR = "127.0.0.1"


def deadline(seconds: float = 5.0) -> object:
    end = time.monotonic() + seconds
    return lambda: max(0.0, end - time.monotonic())


def tls10_only_server(corpus: Corpus) -> ThreadedServer:
    served = corpus.cases["good"].served
    ctx = server_context(served.chain_file, served.key_file, legacy=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    return tls_server(ctx)


async def test_modern_server_refuses_both(corpus: Corpus) -> None:
    got = await legacy_versions(ADDR, corpus.port("good"), "localhost", deadline())
    assert got == {"TLSv1": False, "TLSv1.1": False}


async def test_legacy_server_accepts_both(corpus: Corpus) -> None:
    if not corpus.legacy_tls_works():
        pytest.skip("this OpenSSL cannot serve TLS 1.0 even with @SECLEVEL=0")
    got = await legacy_versions(ADDR, corpus.port("tls10"), "localhost", deadline())
    assert got == {"TLSv1": True, "TLSv1.1": True}


async def test_tls10_only_server_refuses_tls11(corpus: Corpus) -> None:
    """The server answers a TLS 1.1 hello with a 1.0 ServerHello: 1.1 is not accepted."""
    if not corpus.legacy_tls_works():
        pytest.skip("this OpenSSL cannot serve TLS 1.0 even with @SECLEVEL=0")
    server = tls10_only_server(corpus)
    try:
        got = await legacy_versions(ADDR, server.port, "localhost", deadline())
    finally:
        server.close()
    assert got == {"TLSv1": True, "TLSv1.1": False}


async def test_plain_http_port_refuses(corpus: Corpus) -> None:
    got = await legacy_versions(ADDR, corpus.port("plain_http"), "localhost", deadline())
    assert got == {"TLSv1": False, "TLSv1.1": False}


async def test_closed_port_is_untested() -> None:
    got = await legacy_versions(ADDR, 1, "localhost", deadline())
    assert got == {"TLSv1": None, "TLSv1.1": None}


async def test_silent_port_is_untested_at_the_deadline(corpus: Corpus) -> None:
    started = time.monotonic()
    got = await legacy_versions(ADDR, corpus.port("silent"), "localhost", deadline(0.5))
    assert got == {"TLSv1": None, "TLSv1.1": None}
    assert time.monotonic() - started < 1.5


def test_hello_is_one_well_formed_record() -> None:
    hello = client_hello(0x0302, "example.test")
    assert hello[0] == 22 and int.from_bytes(hello[3:5], "big") == len(hello) - 5
    assert hello[5] == 1  # ClientHello
    assert int.from_bytes(hello[6:9], "big") == len(hello) - 9
    assert hello[9:11] == b"\x03\x02"
    assert b"example.test" in hello
    assert b"example.test" not in client_hello(0x0301, None)


def test_chosen_version_reads_server_hello_only() -> None:
    assert chosen_version(b"\x02\x00\x00\x4c\x03\x01") == 0x0301
    assert chosen_version(b"\x0b\x00\x00\x4c\x03\x01") is None
    assert chosen_version(b"\x02\x00\x00\x4c\x03") is None


#: what an old Apache/OpenSSL SNI callback sends before its ServerHello for a name it has
#: no virtual host for: a *warning* unrecognized_name alert
WARNING_UNRECOGNIZED_NAME = b"\x15\x03\x01\x00\x02\x01\x70"


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _read_record(sock: socket.socket) -> bytes:
    head = _recv_exactly(sock, 5)
    return head + _recv_exactly(sock, int.from_bytes(head[3:5], "big"))


def relay(upstream: int, rewrite: Callable[[bytes], bytes]) -> ThreadedServer:
    """A front for a real TLS server: the hello goes to it, its first record comes back
    through ``rewrite`` (how old or unusual TLS stacks frame the same answer)."""

    def handle(conn: socket.socket) -> None:
        hello = _read_record(conn)
        with socket.create_connection((ADDR, upstream), timeout=5) as up:
            up.sendall(hello)
            conn.sendall(rewrite(_read_record(up)))
        with contextlib.suppress(OSError):
            conn.recv(1)  # hold the connection until the client is done

    return ThreadedServer(handle)


def raw_server(answer: bytes) -> ThreadedServer:
    """Reads the hello, sends ``answer`` and keeps the connection open."""

    def handle(conn: socket.socket) -> None:
        _read_record(conn)
        conn.sendall(answer)
        with contextlib.suppress(OSError):
            conn.recv(1)

    return ThreadedServer(handle)


async def probe_through(server: ThreadedServer, name: str = "localhost") -> dict[str, bool | None]:
    try:
        return await legacy_versions(ADDR, server.port, name, deadline(10))
    finally:
        server.close()


async def test_warning_alert_before_the_server_hello_is_skipped(corpus: Corpus) -> None:
    """An old Apache answering a name it has no vhost for still accepts TLS 1.0/1.1."""
    if not corpus.legacy_tls_works():
        pytest.skip("this OpenSSL cannot serve TLS 1.0 even with @SECLEVEL=0")
    warned = relay(corpus.port("tls10"), lambda rec: WARNING_UNRECOGNIZED_NAME + rec)
    assert await probe_through(warned) == {"TLSv1": True, "TLSv1.1": True}
    modern = relay(corpus.port("good"), lambda rec: WARNING_UNRECOGNIZED_NAME + rec)
    assert await probe_through(modern) == {"TLSv1": False, "TLSv1.1": False}


def split_records(cuts: tuple[int, ...]) -> Callable[[bytes], bytes]:
    """Reframes one handshake record as several, cut after each of ``cuts`` body bytes."""

    def rewrite(record: bytes) -> bytes:
        assert record[0] == 22, record[:5]
        body, out, at = record[5:], b"", 0
        for end in (*cuts, len(record) - 5):
            out += record[:3] + (end - at).to_bytes(2, "big") + body[at:end]
            at = end
        return out

    return rewrite


@pytest.mark.parametrize("cuts", [(4,), (1, 3, 5)])
async def test_server_hello_split_over_records(corpus: Corpus, cuts: tuple[int, ...]) -> None:
    if not corpus.legacy_tls_works():
        pytest.skip("this OpenSSL cannot serve TLS 1.0 even with @SECLEVEL=0")
    got = await probe_through(relay(corpus.port("tls10"), split_records(cuts)))
    assert got == {"TLSv1": True, "TLSv1.1": True}


FATAL_HANDSHAKE_FAILURE = b"\x15\x03\x01\x00\x02\x02\x28"
NOT_TLS = {
    "application data": b"\x17\x03\x01\x00\x06\x02\x00\x00\x02\x03\x01",
    "record major version 2": b"\x16\x02\x00\x00\x06\x02\x00\x00\x02\x03\x01",
    "warning, then fatal alert": WARNING_UNRECOGNIZED_NAME + FATAL_HANDSHAKE_FAILURE,
    "close_notify": b"\x15\x03\x01\x00\x02\x01\x00",
    "endless warnings": WARNING_UNRECOGNIZED_NAME * 2000,
}


@pytest.mark.parametrize("name", list(NOT_TLS))
async def test_refusals_are_read_at_once(name: str) -> None:
    """Whatever is not a ServerHello is a refusal as soon as it shows, never the deadline."""
    started = time.monotonic()
    got = await probe_through(raw_server(NOT_TLS[name]))
    assert got == {"TLSv1": False, "TLSv1.1": False}
    assert time.monotonic() - started < 2.0


async def test_a_silent_server_costs_at_most_the_wait_cap(corpus: Corpus) -> None:
    """A server that drops legacy hellos leaves the rest of the check's deadline alone."""
    started = time.monotonic()
    got = await legacy_versions(ADDR, corpus.port("silent"), "localhost", deadline(20), wait_s=0.5)
    assert got == {"TLSv1": None, "TLSv1.1": None}
    assert time.monotonic() - started < 1.5


async def test_a_name_idna_cannot_encode_is_untested(corpus: Corpus) -> None:
    got = await legacy_versions(ADDR, corpus.port("good"), "x" * 64 + ".test", deadline())
    assert got == {"TLSv1": None, "TLSv1.1": None}


def test_out_of_file_descriptors_is_untested(corpus: Corpus) -> None:
    """EMFILE on the probe's socket is "could not be tested", not a crashed check."""
    script = f"""
import asyncio, encodings.idna, os, resource, time
from checks.tls.legacy import legacy_versions

async def main():
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    held = []
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    end = time.monotonic() + 5
    print(await legacy_versions("{ADDR}", {corpus.port("good")}, "localhost",
                                lambda: end - time.monotonic()))

asyncio.run(main())
"""
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "{'TLSv1': None, 'TLSv1.1': None}"
