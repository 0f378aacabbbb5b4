"""Session-wide certificate corpus and one local TLS server per badssl-style case.

Everything is generated once per session (keys are reused across leaves) so the TLS
tests stay fast; servers start lazily the first time a case is used.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.checks.tls import pki
from tests.checks.tls.servers import (
    ThreadedServer,
    plain_http_server,
    server_context,
    silent_server,
    static_http_server,
    tls_server,
)

DAY = pki.DAY
NOW = pki.NOW


@dataclass
class Case:
    served: pki.Served
    seclevel0: bool = False
    legacy: bool = False


@dataclass
class Corpus:
    directory: Path
    root: pki.Authority
    intermediate: pki.Authority
    cases: dict[str, Case]
    aia_server: ThreadedServer
    _servers: dict[str, ThreadedServer] = field(default_factory=dict)

    @property
    def ca_file(self) -> str:
        return str(self.directory / "root.pem")

    def port(self, name: str) -> int:
        """Port of the server for case ``name`` (started on first use)."""
        if name not in self._servers:
            if name == "plain_http":
                self._servers[name] = plain_http_server()
            elif name == "silent":
                self._servers[name] = silent_server()
            else:
                case = self.cases[name]
                ctx = server_context(
                    case.served.chain_file,
                    case.served.key_file,
                    seclevel0=case.seclevel0,
                    legacy=case.legacy,
                )
                self._servers[name] = tls_server(ctx)
        return self._servers[name].port

    def legacy_tls_works(self) -> bool:
        """Can this machine's OpenSSL do a TLS 1.0 handshake at all (@SECLEVEL=0 both sides)?"""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
            with socket.create_connection(("127.0.0.1", self.port("tls10")), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    return tls.version() == "TLSv1"
        except (ssl.SSLError, OSError, ValueError):
            return False

    def close(self) -> None:
        for server in [*self._servers.values(), self.aia_server]:
            server.close()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    d = tmp_path_factory.mktemp("tls-corpus")
    root = pki.make_ca("Auditor Test Root")
    inter = pki.make_ca("Auditor Test Intermediate", issuer=root)
    (d / "root.pem").write_bytes(root.pem)
    other_root = pki.make_ca("Unknown Root")
    other_inter = pki.make_ca("Unknown Intermediate", issuer=other_root)
    # the missing-intermediate case points AIA caIssuers at a loopback server
    aia = static_http_server({"/inter.der": (200, {}, pki.der(inter.cert))})
    aia_url = f"http://127.0.0.1:{aia.port}/inter.der"

    key = pki.rsa_key()
    weak_key = pki.rsa_key(1024)
    ec_key = ec.generate_private_key(ec.SECP256R1())

    def leaf(**kw: object) -> object:
        return pki.make_leaf(inter, key, **kw)  # type: ignore[arg-type]

    def case(name: str, cert: object, *extra: object, k: object = key, **kw: bool) -> None:
        served = pki.write_served(d, name, cert, k, *extra)  # type: ignore[arg-type]
        cases[name] = Case(served, **kw)

    cases: dict[str, Case] = {}
    i = inter.cert
    case("good", leaf(), i)
    case("expired", leaf(not_before=NOW - 100 * DAY, not_after=NOW - DAY), i)
    case("not_yet_valid", leaf(not_before=NOW + DAY, not_after=NOW + 60 * DAY), i)
    case("expiring_3", leaf(not_before=NOW - 30 * DAY, not_after=NOW + 3 * DAY), i)
    case("expiring_14", leaf(not_before=NOW - 30 * DAY, not_after=NOW + 14 * DAY), i)
    case("long_validity", leaf(not_before=NOW - 10 * DAY, not_after=NOW + 815 * DAY), i)
    case("wrong_host", leaf(dns=("wrong.example.test",), ips=(), cn="wrong.example.test"), i)
    case("no_san", leaf(dns=(), ips=()), i)
    case("dns_only", leaf(ips=()), i)
    case("self_signed", pki.make_leaf(None, key))
    case(
        "untrusted_root",
        pki.make_leaf(other_inter, key),
        other_inter.cert,
        other_root.cert,
    )
    case("unknown_issuer", pki.make_leaf(other_inter, key), other_inter.cert)
    case("incomplete_chain", leaf(aia_url=aia_url))
    case("incomplete_no_aia", leaf())
    case("rsa1024", pki.make_leaf(inter, weak_key), i, k=weak_key, seclevel0=True)
    try:  # needs the openssl CLI; the test is skipped when it is missing
        sha1 = pki.openssl_sha1_leaf(d / "sha1", inter, key)
        case("sha1", sha1, i, seclevel0=True)
    except (RuntimeError, OSError, subprocess.SubprocessError):
        pass
    case("ecdsa_p256", pki.make_leaf(inter, ec_key), i, k=ec_key)
    case("tls10", leaf(), i, legacy=True)
    c = Corpus(d, root, inter, cases, aia)
    yield c
    c.close()
