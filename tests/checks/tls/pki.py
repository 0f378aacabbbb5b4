"""Test PKI built with ``cryptography`` (and the ``openssl`` CLI for SHA-1, which
``cryptography`` refuses to sign): a root, an intermediate and one leaf per badssl-style case.

Dates are relative to the real clock at generation time: ``ssl`` cannot fake time.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str | None, org: str = "Auditor Test") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if cn:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


@dataclass
class Authority:
    cert: x509.Certificate
    key: Key

    @property
    def pem(self) -> bytes:
        return _pem(self.cert)


def make_ca(
    cn: str,
    issuer: Authority | None = None,
    key: Key | None = None,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Authority:
    key = key or rsa_key()
    subject = _name(cn)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - 365 * DAY)
        .not_valid_after(not_after or NOW + 3650 * DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return Authority(builder.sign(signer_key, hashes.SHA256()), key)


def make_leaf(
    issuer: Authority | None,
    key: Key,
    *,
    dns: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",),
    cn: str | None = "localhost",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    aia_url: str | None = None,
) -> x509.Certificate:
    """A server certificate; ``issuer=None`` makes it self-signed."""
    nb = not_before or NOW - DAY
    na = not_after or nb + 90 * DAY
    subject = _name(cn, "Auditor Leaf")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(nb)
        .not_valid_after(na)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if aia_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(aia_url),
                    )
                ]
            ),
            critical=False,
        )
    return builder.sign(issuer.key if issuer else key, hashes.SHA256())


def openssl_sha1_leaf(workdir: Path, issuer: Authority, key: Key) -> x509.Certificate:
    """A SHA-1-signed leaf, signed by the ``openssl`` CLI (``cryptography`` refuses SHA-1)."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl CLI is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "ca.pem").write_bytes(issuer.pem)
    (workdir / "ca.key").write_bytes(_key_pem(issuer.key))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name("localhost", "Auditor Leaf"))
        .sign(key, hashes.SHA256())
    )
    (workdir / "leaf.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    (workdir / "ext.cnf").write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
    )
    subprocess.run(
        ["openssl", "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-sha1", "-days", "60", "-set_serial", "4242", "-extfile", "ext.cnf", "-out", "leaf.pem"],
        cwd=workdir, check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return x509.load_pem_x509_certificate((workdir / "leaf.pem").read_bytes())


@dataclass
class Served:
    """Files for one server: the chain it sends (leaf first) and the leaf key."""

    chain_file: Path
    key_file: Path


def write_served(
    directory: Path, name: str, leaf: x509.Certificate, key: Key, *extra: x509.Certificate
) -> Served:
    directory.mkdir(parents=True, exist_ok=True)
    chain_file = directory / f"{name}.chain.pem"
    key_file = directory / f"{name}.key.pem"
    chain_file.write_bytes(b"".join(_pem(c) for c in (leaf, *extra)))
    key_file.write_bytes(_key_pem(key))
    return Served(chain_file, key_file)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)
