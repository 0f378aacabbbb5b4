"""The handshake-free TLS 1.0/1.1 probe against real local TLS servers."""

from __future__ import annotations

import ssl
import time
import warnings

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
    assert chosen_version(b"\x16\x03\x01\x00\x50", b"\x02\x00\x00\x4c\x03\x01") == 0x0301
    assert chosen_version(b"\x16\x03\x01\x00\x50", b"\x0b\x00\x00\x4c\x03\x01") is None
    assert chosen_version(b"\x15\x03\x01\x00\x02", b"\x02\x46") is None
    assert chosen_version(b"HTTP/", b"1.1 400") is None
