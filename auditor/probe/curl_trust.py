"""Which trust store version a libcurl handshake verified against, for the shared-handshake
ledger (``auditor.probe.handshakes``).

libcurl caches the CA store it loaded per multi handle (one store per handle, keyed by the
file's path, for ``CA_CACHE_TIMEOUT``): loading the system bundle costs milliseconds per
handshake otherwise. So each trust store gets its own multi handle, stamped with the store's
version (path, mtime, size) when the handle was made; when the file changes, or the handle
is older than the ssl contexts' TTL, a new handle takes over (the old one finishes its
transfers, then closes). A handshake is vouched for under the stamp of its handle only if
the file still has that stamp after the handshake: a store swapped while libcurl was loading
it is never vouched for, as in ``tls_context.ssl_context_and_trust``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from auditor.probe.curl_loop import CurlLoop
from auditor.probe.handshakes import trust_stamp
from auditor.probe.interface import TrustKey
from auditor.probe.tls_context import SSL_CONTEXT_TTL_S

#: distinct trust stores (CA files) kept loaded at once; the least recently used goes first
MAX_STORES = 32


@dataclass
class _Store:
    loop: CurlLoop
    stamp: TrustKey
    made: float
    sound: bool = True  # False once the file was seen changed under this handle


@dataclass
class TrustLoops:
    """One ``CurlLoop`` per trust store, each knowing which version of the store it loaded."""

    stores: dict[str, _Store] = field(default_factory=dict)
    retired: list[CurlLoop] = field(default_factory=list)

    def loop_for(self, ca_file: str | None) -> tuple[CurlLoop, TrustKey]:
        """The multi handle to run a verified hop on, and the stamp of the store it holds."""
        key = ca_file or ""
        stamp = trust_stamp(ca_file)
        now = time.monotonic()
        store = self.stores.get(key)
        if store is not None and (
            store.stamp != stamp or not store.sound or now - store.made > SSL_CONTEXT_TTL_S
        ):
            self._retire(self.stores.pop(key).loop)
            store = None
        if store is None:
            if len(self.stores) >= MAX_STORES:
                self._retire(self.stores.pop(next(iter(self.stores))).loop)
            store = self.stores[key] = _Store(CurlLoop(), stamp, now)
        else:
            self.stores[key] = self.stores.pop(key)  # most recently used last
        self._reap()
        return store.loop, store.stamp

    def vouch(self, ca_file: str | None, loop: CurlLoop, stamp: TrustKey) -> TrustKey | None:
        """``stamp`` if a handshake just verified on ``loop`` used that store version."""
        if trust_stamp(ca_file) == stamp:
            return stamp
        store = self.stores.get(ca_file or "")
        if store is not None and store.loop is loop:
            store.sound = False  # changed under it: the next hop gets a fresh handle
        return None

    def close(self) -> None:
        for store in self.stores.values():
            store.loop.close()
        for loop in self.retired:
            loop.close()
        self.stores.clear()
        self.retired.clear()

    def _retire(self, loop: CurlLoop) -> None:
        self.retired.append(loop)

    def _reap(self) -> None:
        if self.retired:
            keep = []
            for loop in self.retired:
                if loop.idle:
                    loop.close()
                else:
                    keep.append(loop)
            self.retired = keep
