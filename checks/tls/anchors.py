"""Trust anchors for the path builder: the system store, or the check's ``ca_file``.

Parsed once per file version and cached: the system bundle holds ~150 roots and a daemon
runs this check for every service every few minutes.
"""

from __future__ import annotations

import os
import ssl
import warnings
from functools import lru_cache
from pathlib import Path

from cryptography import x509

from checks.base import ProbeError
from checks.tls.x509info import load_der, load_pem_bundle


@lru_cache(maxsize=1)
def system_anchors() -> tuple[x509.Certificate, ...]:
    """Roots the default OpenSSL context trusts (its CA file, else every file in its CA dir)."""
    ctx = ssl.create_default_context()
    certs = []
    with warnings.catch_warnings():  # some shipped roots have non-positive serials
        warnings.simplefilter("ignore")
        for der in ctx.get_ca_certs(binary_form=True):
            try:
                certs.append(load_der(der))  # type: ignore[arg-type]
            except ValueError:
                continue
    if not certs:
        capath = ssl.get_default_verify_paths().capath
        if capath and os.path.isdir(capath):
            for entry in sorted(Path(capath).iterdir()):
                try:
                    certs.extend(load_pem_bundle(entry.read_bytes()))
                except OSError:
                    continue
    return tuple(certs)


@lru_cache(maxsize=64)
def _file_anchors(path: str, mtime_ns: int, size: int) -> tuple[x509.Certificate, ...]:
    return tuple(load_pem_bundle(Path(path).read_bytes()))


def file_anchors(path: str) -> tuple[x509.Certificate, ...]:
    """Certificates in ``path``; ``config`` error when it is missing, unreadable or empty."""
    try:
        st = os.stat(path)
        certs = _file_anchors(path, st.st_mtime_ns, st.st_size)
    except OSError as exc:
        raise ProbeError("config", f"ca_file {path} cannot be read: {exc.strerror}") from exc
    if not certs:
        raise ProbeError("config", f"ca_file {path} holds no PEM certificate")
    return certs


def anchors_for(ca_file: str | None) -> tuple[tuple[x509.Certificate, ...], str]:
    """(anchors, store name): ``ca_file`` replaces the system store, as in ``build_ssl_context``."""
    if ca_file:
        return file_anchors(ca_file), "ca_file"
    return system_anchors(), "system"
