"""Trusted reverse proxies: believe ``X-Forwarded-For`` / ``X-Forwarded-Proto`` only from them.

Werkzeug's ``ProxyFix`` trusts a fixed *number* of hops from anyone who connects; here the
connecting peer must be inside ``[web] trusted_proxies`` (CIDRs). From such a peer the client
is the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy (entries
to its left were written by the client and prove nothing), and the scheme is the right-most
``X-Forwarded-Proto`` value. From any other peer both headers are removed, so no later code
can be fooled by them: login throttling, the audit log and the ``Secure`` cookie flag all see
the real connection.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED")
#: the environ key keeping the directly connected address (the proxy's, when there is one)
PEER_KEY = "auditor.peer_addr"


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip().strip("[]")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: str, networks: Sequence[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in networks)


def client_address(peer: str, forwarded_for: str, networks: Sequence[Network]) -> str:
    """The client behind trusted proxy ``peer``: walk ``X-Forwarded-For`` from the right past
    trusted hops; the first other entry is the client. A malformed entry stops the walk at
    the last trusted hop (it cannot be believed, and it is not an address)."""
    client = peer
    for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
        ip = _ip(hop)
        if ip is None:
            return client
        client = str(ip)
        if not any(ip in net for net in networks):
            return client
    return client


class TrustedProxies:
    """WSGI middleware applying the rules above to each request."""

    def __init__(self, app: WSGIApplication, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[Any]:
        peer = str(environ.get("REMOTE_ADDR") or "")
        environ[PEER_KEY] = peer
        if self.networks and is_trusted(peer, self.networks):
            forwarded = str(environ.get("HTTP_X_FORWARDED_FOR") or "")
            environ["REMOTE_ADDR"] = client_address(peer, forwarded, self.networks)
            proto = str(environ.get("HTTP_X_FORWARDED_PROTO") or "").split(",")[-1]
            if proto.strip().lower() in ("http", "https"):
                environ["wsgi.url_scheme"] = proto.strip().lower()
        else:
            for key in FORWARDED:
                environ.pop(key, None)
        return self.app(environ, start_response)
