"""TLS failures as every HTTP kind reports them, against real local HTTPS servers (trustme).

A certificate a verifying client rejects must read the same way wherever it surfaces
(health, headers, exposure, redirect): what is wrong and the fix for that cause, never
"check that the service is running" and never OpenSSL's ``[SSL: …] (_ssl.c:NNN)`` text. And
an HTTPS server that offers only old SHA-1 CBC suites is reachable (curl connects to it):
availability is judged apart from TLS quality, with certificate verification still on.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from auditor.probe.http import HttpProber
from auditor.probe.outcome import RunResult, RunStatus, Target
from auditor.schedule.runner import run_check
from checks.registry import get_check
from web.dashboard.advice import advice

pytestmark = pytest.mark.usefixtures("probe_engine")

NOW = dt.datetime.now(dt.UTC)


class _Handler(BaseHTTPRequestHandler):
    redirect_to: str | None = None

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        if self.redirect_to is not None:
            self.send_response(301)
            self.send_header("Location", self.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"status": "pass"}' if self.path.startswith("/health") else b"ok"
        self.send_response(200 if self.path in ("/", "/health") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_OPTIONS = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed handshakes end in broken connections by design


@contextmanager
def serve(tls: ssl.SSLContext | None, redirect_to: str | None = None) -> Iterator[int]:
    handler = type("Handler", (_Handler,), {"redirect_to": redirect_to})
    server = _Server(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(key_type=trustme.KeyType.RSA)


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_ctx(leaf: trustme.LeafCert, ciphers: str | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if ciphers is not None:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(ciphers)
    leaf.configure_cert(ctx)
    return ctx


#: case -> (how the leaf is issued, whether the check is given the CA, words the fix must say)
CASES: dict[str, tuple[dict[str, Any], bool, tuple[str, ...]]] = {
    "untrusted_ca": ({"identities": ("127.0.0.1",)}, False, ("not trusted", "ca_file", "chain")),
    "wrong_host": ({"identities": ("other.example",)}, True, ("not valid for 127.0.0.1",
                                                               "subjectAltName")),
    "expired": ({"identities": ("127.0.0.1",), "not_before": NOW - dt.timedelta(days=30),
                 "not_after": NOW - dt.timedelta(days=2)}, True, ("has expired", "renew")),
}  # fmt: skip

RAW_OPENSSL = ("_ssl.c", "[SSL", "CERTIFICATE_VERIFY_FAILED")


@pytest.fixture
async def prober() -> AsyncIterator[HttpProber]:
    p = HttpProber()
    yield p
    await p.aclose()


async def run(prober: HttpProber, kind: str, url: str, **options: Any) -> RunResult:
    check = get_check(kind)
    target = Target(service="svc", url=url, check=kind, kind=kind)
    return await run_check(check, target, check.Options(**options), prober=prober, timeout=5.0)


def stored_text(result: RunResult) -> str:
    """Everything of a run an operator reads: summary, error and finding messages."""
    return "\n".join([result.summary, result.error or "", *(f.message for f in result.findings)])


def issue(ca: trustme.CA, how: dict[str, Any]) -> trustme.LeafCert:
    how = dict(how)
    return ca.issue_cert(*how.pop("identities"), key_type=trustme.KeyType.RSA, **how)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", ["health", "exposure"])
async def test_a_rejected_certificate_names_its_fix_not_reachability(
    ca: trustme.CA, ca_file: str, prober: HttpProber, case: str, kind: str
) -> None:
    how, give_ca, words = CASES[case]
    with serve(server_ctx(issue(ca, how))) as port:
        options = {"ca_file": ca_file} if give_ca else {}
        if kind == "health":
            options["path"] = "/health"
        result = await run(prober, kind, f"https://127.0.0.1:{port}", **options)
    assert result.status is RunStatus.ERROR
    assert [f.code for f in result.findings] == [f"{kind}.tls"]
    text = stored_text(result)
    for word in words:
        assert word in text, (word, text)
    for raw in RAW_OPENSSL:
        assert raw not in text
    what_to_do = advice(f"{kind}.tls")
    assert "running" not in what_to_do and "ca_file" in what_to_do


@pytest.mark.parametrize("case", list(CASES))
async def test_headers_grades_anyway_and_says_why_the_certificate_fails(
    ca: trustme.CA, ca_file: str, prober: HttpProber, case: str
) -> None:
    how, give_ca, words = CASES[case]
    with serve(server_ctx(issue(ca, how))) as port:
        options = {"ca_file": ca_file} if give_ca else {}
        result = await run(prober, "headers", f"https://127.0.0.1:{port}", http_port=0, **options)
    hsts = {f.code: f.message for f in result.findings}["headers.strict-transport-security"]
    assert "hsts-invalid-cert" in hsts
    for word in words:
        assert word in hsts, (word, hsts)
    for raw in RAW_OPENSSL:
        assert raw not in stored_text(result)


async def test_redirect_to_a_badly_certified_https_is_judged_on_the_redirect_alone(
    ca: trustme.CA, prober: HttpProber
) -> None:
    with serve(server_ctx(issue(ca, CASES["untrusted_ca"][0]))) as https_port:
        target = f"https://127.0.0.1:{https_port}/"
        with serve(None, redirect_to=target) as http_port:
            result = await run(prober, "redirect", target, http_port=http_port)
            graded = await run(prober, "headers", target, http_port=http_port)
    assert result.status is RunStatus.PASS, result.summary
    assert "redirects permanently (301)" in result.summary
    for raw in (*RAW_OPENSSL, "TLS", "certificate"):
        assert raw not in stored_text(result)
    # the headers check follows that redirect: its redirection test names the fix
    redirection = {f.code: f.message for f in graded.findings}["headers.redirection"]
    assert "redirection-invalid-cert" in redirection
    assert "not trusted" in redirection and "ca_file" in redirection
    for raw in RAW_OPENSSL:
        assert raw not in stored_text(graded)


async def test_a_port_without_tls_is_named_so(prober: HttpProber) -> None:
    with serve(None) as port:
        result = await run(prober, "health", f"https://127.0.0.1:{port}", path="/health")
    assert [f.code for f in result.findings] == ["health.tls"]
    assert "does not speak TLS" in result.summary
    for raw in RAW_OPENSSL:
        assert raw not in stored_text(result)


# --- availability is not TLS quality: SHA-1 CBC suites only ---------------------------------

SHA1_CBC = "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"


@pytest.mark.parametrize("kind", ["health", "headers", "exposure"])
async def test_a_server_offering_only_sha1_cbc_suites_is_reachable(
    ca: trustme.CA, ca_file: str, prober: HttpProber, kind: str
) -> None:
    leaf = issue(ca, {"identities": ("127.0.0.1",)})
    with serve(server_ctx(leaf, SHA1_CBC)) as port:
        options: dict[str, Any] = {"ca_file": ca_file}
        if kind == "health":
            options["path"] = "/health"
        if kind == "headers":
            options["http_port"] = 0
        result = await run(prober, kind, f"https://127.0.0.1:{port}", **options)
    assert result.status is not RunStatus.ERROR, result.summary
    if kind == "health":
        assert result.status is RunStatus.PASS, result.summary
    if kind == "headers":  # verified: no -invalid-cert result
        assert "invalid-cert" not in stored_text(result)


async def test_the_permissive_suites_keep_verification_on(
    ca: trustme.CA, prober: HttpProber, tmp_path: Path
) -> None:
    other = trustme.CA()
    wrong_ca = tmp_path / "other.pem"
    other.cert_pem.write_to_path(str(wrong_ca))
    leaf = issue(ca, {"identities": ("127.0.0.1",)})
    with serve(server_ctx(leaf, SHA1_CBC)) as port:
        url = f"https://127.0.0.1:{port}"
        untrusted = await run(prober, "health", url, path="/health", ca_file=str(wrong_ca))
        unchecked = await run(prober, "health", url, path="/health", verify=False)
    assert [f.code for f in untrusted.findings] == ["health.tls"]
    assert "not trusted" in untrusted.summary
    assert unchecked.status is RunStatus.PASS, unchecked.summary


def _cn_only(tmp: Any, name: str) -> tuple[str, str, str]:
    """A CA and a leaf naming ``name`` only in its subject CN (no subjectAltName): (ca, cert,
    key) PEM paths. Browsers and the ssl module refuse such a leaf; libcurl would match the
    CN when the leaf has no SAN at all, and must not here."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def cert(subject: str, key: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root = cert("CN-only test CA", ca_key, "CN-only test CA", ca_key, True)
    leaf = cert(name, leaf_key, "CN-only test CA", ca_key, False)
    paths = [tmp / "ca.pem", tmp / "leaf.pem", tmp / "key.pem"]
    paths[0].write_bytes(root.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(paths[0]), str(paths[1]), str(paths[2])


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_name_only_in_the_subject_cn_is_not_accepted(tmp_path: Path, host: str) -> None:
    """Either engine refuses a leaf whose only name is its CN, and no probe vouches for it to
    the tls check (libcurl, unlike the ssl module, falls back to the CN)."""
    ca, leaf, key = _cn_only(tmp_path, host)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(leaf, key)

    async def loopback(name: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    prober = HttpProber(resolver=loopback)
    try:
        with serve(ctx) as port:
            result = await run(
                prober, "health", f"https://{host}:{port}", ca_file=ca, path="/health"
            )
            assert prober.handshakes._seen == {}  # nothing recorded for the tls check
    finally:
        await prober.aclose()
    assert result.status is RunStatus.ERROR, result.summary
    assert [f.code for f in result.findings] == ["health.tls"]
    assert f"not valid for {host}" in result.summary, result.summary
