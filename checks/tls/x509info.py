"""Certificate facts and trust-path building with ``cryptography`` (CPU only, no I/O).

Kept apart from the handshake so it can be tested on generated certificates alone.
The path builder checks names and signatures only: time, hostname, key size and
signature strength are judged separately by ``analysis`` so one bad property does not
hide another (a SHA-1 leaf from a trusted CA is ``weak_signature``, not ``untrusted``).
``cryptography``'s own verifier refuses SHA-1 outright, hence the manual signature check.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID, NameOID

MAX_PATH_LENGTH = 10
#: certificates (and chains) remembered by the memoised helpers below: a daemon sees the same
#: few hundred certificates run after run, and parsing one with many SANs costs ~1 ms of CPU
MEMO_SIZE = 512


def load_der(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def load_pem_bundle(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (a CA file); an empty list for none."""
    try:
        return list(x509.load_pem_x509_certificates(data))
    except ValueError:
        return []


def _name(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except Exception:  # malformed names must not crash the probe
        return "<unparseable name>"


def _common_name(name: x509.Name) -> str | None:
    try:
        attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    except Exception:
        return None
    return str(attrs[0].value) if attrs else None


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except (x509.ExtensionNotFound, ValueError):
        return [], []
    san = ext.value
    assert isinstance(san, x509.SubjectAlternativeName)
    dns = [str(v) for v in san.get_values_for_type(x509.DNSName)]
    # inet_ntop gives str(IPv4Address) in C (certificates with hundreds of IP SANs exist)
    ips = [
        socket.inet_ntop(socket.AF_INET, v.packed) if isinstance(v, IPv4Address) else str(v)
        for v in san.get_values_for_type(x509.IPAddress)
    ]
    return dns, ips


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    assert isinstance(bc, x509.BasicConstraints)
    return bool(bc.ca)


def _ca_issuers(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except (x509.ExtensionNotFound, ValueError):
        return []
    assert isinstance(aia, x509.Extension)
    out = []
    for desc in aia.value:  # type: ignore[attr-defined]
        if desc.access_method == x509.AuthorityInformationAccessOID.CA_ISSUERS and isinstance(
            desc.access_location, x509.UniformResourceIdentifier
        ):
            out.append(str(desc.access_location.value))
    return out


def key_info(cert: x509.Certificate) -> tuple[str, int | None, str | None]:
    """(key type, size in bits, curve name) of the certificate's public key."""
    try:
        key = cert.public_key()
    except Exception:
        return "unknown", None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    return type(key).__name__, None, None


def signature_hash(cert: x509.Certificate) -> str | None:
    """Hash of the signature (``sha1``, ``md5``, ``sha256``…), None for EdDSA or unknown."""
    try:
        algo = cert.signature_hash_algorithm
    except Exception:  # unsupported algorithm (e.g. MD2): fall back to the OID name
        name = cert.signature_algorithm_oid._name.lower()
        for candidate in ("md2", "md4", "md5", "sha1"):
            if candidate in name:
                return candidate
        return None
    return algo.name if algo is not None else None


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key made ``cert``'s signature (names must match too).

    Done by hand because ``verify_directly_issued_by`` rejects SHA-1 and MD5, which we
    must still be able to chain through in order to report them as weak.
    """
    if cert.issuer != issuer.subject:
        return False
    try:
        key = issuer.public_key()
        algo = cert.signature_hash_algorithm
        if isinstance(key, rsa.RSAPublicKey):
            assert isinstance(algo, hashes.HashAlgorithm)
            pss = cert.signature_algorithm_parameters
            pad = pss if isinstance(pss, padding.PSS) else padding.PKCS1v15()
            key.verify(cert.signature, cert.tbs_certificate_bytes, pad, algo)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            assert isinstance(algo, hashes.HashAlgorithm)
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(algo))
        elif isinstance(key, dsa.DSAPublicKey):
            assert isinstance(algo, hashes.HashAlgorithm)
            key.verify(cert.signature, cert.tbs_certificate_bytes, algo)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except (InvalidSignature, AssertionError, ValueError, TypeError):
        return False
    except Exception:
        return False
    return True


def self_signed(cert: x509.Certificate) -> bool:
    return signed_by(cert, cert)


def describe(cert: x509.Certificate) -> dict[str, Any]:
    """JSON-serialisable facts about one certificate (never the PEM: facts are kept per run)."""
    dns, ips = _sans(cert)
    key_type, key_size, curve = key_info(cert)
    nb = cert.not_valid_before_utc
    na = cert.not_valid_after_utc
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "common_name": _common_name(cert.subject),
        "san_dns": dns,
        "san_ip": ips,
        "has_san": bool(dns or ips),
        "serial": format(cert.serial_number, "x"),
        "not_before": nb.isoformat(),
        "not_after": na.isoformat(),
        "not_before_ts": nb.timestamp(),
        "not_after_ts": na.timestamp(),
        "key_type": key_type,
        "key_size": key_size,
        "curve": curve,
        "signature_algorithm": cert.signature_algorithm_oid._name,
        "signature_hash": signature_hash(cert),
        "is_ca": _is_ca(cert),
        "self_issued": cert.issuer == cert.subject,
        "self_signed": self_signed(cert),
        "ca_issuers": _ca_issuers(cert),
        "fingerprint_sha256": hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest(),
    }


@dataclass
class TrustResult:
    """Outcome of building a path from the presented leaf to a trust anchor.

    ``status`` is ``trusted``, ``self_signed`` (the leaf signs itself and is not an
    anchor), ``untrusted_root`` (the path ends at a root the store does not hold),
    ``incomplete_chain`` (a trusted path exists only with a certificate the server did not
    send) or ``unknown_issuer`` (the path stops at a certificate whose issuer is nowhere);
    the check turns an unknown issuer of a lone leaf into ``issuer_not_sent`` (an
    intermediate the server should send, ``check.issuer_not_sent``).
    ``path`` lists presented-chain indexes used; ``-1 - k`` is ``extra[k]`` (fetched via AIA).
    """

    status: str
    path: list[int] = field(default_factory=list)
    anchor: str | None = None
    stuck_at: int | None = None
    missing_issuer: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "path": self.path,
            "anchor": self.anchor,
            "stuck_at": self.stuck_at,
            "missing_issuer": self.missing_issuer,
            "detail": self.detail,
        }


def _same_cert(a: x509.Certificate, b: x509.Certificate) -> bool:
    return a.subject == b.subject and a.public_key() == b.public_key()


def build_path(
    presented: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    extra: Sequence[x509.Certificate] = (),
) -> TrustResult:
    """Walk issuer links from the leaf through the presented chain (then ``extra``) to an anchor.

    Anchors are preferred over presented certificates at each step (OpenSSL's
    ``X509_V_FLAG_TRUSTED_FIRST``), so a stale cross-signed root sent by the server does not
    hide a valid path.
    """
    if not presented:
        return TrustResult("unknown_issuer", detail="the server sent no certificate")
    leaf = presented[0]
    path = [0]
    current = leaf
    used_extra = False
    for _ in range(MAX_PATH_LENGTH):
        # the current certificate itself is an anchor (pinned leaf, or a root sent by the server)
        for anchor in anchors:
            if _same_cert(current, anchor):
                return TrustResult("trusted", path, _name(anchor.subject))
        for anchor in anchors:
            if signed_by(current, anchor):
                status = "incomplete_chain" if used_extra else "trusted"
                return TrustResult(status, path, _name(anchor.subject))
        if self_signed(current):
            if current is leaf:
                return TrustResult("self_signed", path, detail="the leaf is signed by its own key")
            return TrustResult(
                "untrusted_root",
                path,
                stuck_at=path[-1],
                detail=f"the chain ends at {_name(current.subject)}, which is not a trusted root",
            )
        nxt = None
        for idx, cand in enumerate(presented):
            if idx not in path and _is_ca_or_unknown(cand) and signed_by(current, cand):
                nxt = (idx, cand)
                break
        if nxt is None:
            for k, cand in enumerate(extra):
                if signed_by(current, cand):
                    nxt = (-1 - k, cand)  # extra[k]: -1 is the first, -2 the second, ...
                    used_extra = True
                    break
        if nxt is None:
            return TrustResult(
                "unknown_issuer",
                path,
                stuck_at=path[-1],
                missing_issuer=_name(current.issuer),
                detail=f"no certificate for issuer {_name(current.issuer)} was sent or is trusted",
            )
        path.append(nxt[0])
        current = nxt[1]
    return TrustResult("unknown_issuer", path, detail="the chain is too long")


def _is_ca_or_unknown(cert: x509.Certificate) -> bool:
    """Intermediates must be CAs; a certificate without basicConstraints is tolerated (v1 roots)."""
    try:
        bc = cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS).value
    except (x509.ExtensionNotFound, ValueError):
        return True
    assert isinstance(bc, x509.BasicConstraints)
    return bool(bc.ca)


# -- memoised forms, keyed by the certificates' DER bytes ------------------------------------
# Everything above is a pure function of the certificate bytes (and of the anchors), so each
# distinct certificate or chain is parsed, described and path-checked once, not on every run.


@lru_cache(maxsize=MEMO_SIZE)
def parse_der(der: bytes) -> x509.Certificate:
    """``load_der``, memoised (``ValueError`` for bytes that are not a certificate)."""
    return load_der(der)


@lru_cache(maxsize=MEMO_SIZE)
def _described(der: bytes) -> dict[str, Any]:
    return describe(parse_der(der))


def describe_der(der: bytes) -> dict[str, Any]:
    """``describe`` of the certificate in ``der``, memoised; the caller gets its own copy."""
    return {k: list(v) if type(v) is list else v for k, v in _described(der).items()}


class _Same:
    """Hashes and compares by identity: the anchors are one cached tuple per trust store, and
    holding it here keeps its ``id`` from being reused while the memo entry lives."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj


@lru_cache(maxsize=MEMO_SIZE)
def _path_of(chain_der: tuple[bytes, ...], anchors: _Same) -> TrustResult:
    return build_path([parse_der(d) for d in chain_der], anchors.obj)  # type: ignore[arg-type]


def build_path_der(
    chain_der: Sequence[bytes], anchors: tuple[x509.Certificate, ...]
) -> TrustResult:
    """``build_path`` for a presented chain given as DER, memoised per chain and trust store."""
    result = _path_of(tuple(chain_der), _Same(anchors))
    return replace(result, path=list(result.path))
