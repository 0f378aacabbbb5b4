"""The ``tls`` check kind (DESIGN §1, §3): see ``check.TlsCheck``.

Layout: ``handshake`` does the socket/ssl I/O, ``x509info`` turns certificates into facts
and builds the trust path, ``analysis`` judges facts purely, ``limits`` holds the CA/B
lifetime table.
"""

from __future__ import annotations

from checks.tls.check import TlsCheck, TlsOptions

__all__ = ["TlsCheck", "TlsOptions"]
