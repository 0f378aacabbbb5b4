"""Every host a database DSN would connect to, checked against the address policy (DESIGN §8).

A DSN can name its server in more places than the URL's host: libpq reads ``?host=`` and
``?hostaddr=`` (comma-separated multi-host lists, which override the URL's host), keyword
strings ``host=… hostaddr=…``, and ``PGHOST``/``PGHOSTADDR`` when the DSN names none; MySQL
drivers take ``?unix_socket=``. Each of them is extracted here, resolved once, and judged;
a database check then connects only to the pinned, allowed addresses, so a DSN can neither
bypass the policy nor be rebound by DNS between the check and the connect.

A Unix-socket path (a host starting with ``/``, or ``@`` for Linux's abstract namespace)
and libpq's default socket are local: judged as loopback.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from auditor.probe.addresses import AddressPolicy
from auditor.probe.interface import DsnHost, Endpoint
from auditor.probe.outcome import ProbeError

#: what a Unix socket is judged as
LOCAL_SOCKET_ADDRESS = "127.0.0.1"
_DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
_KEYWORD = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s\\]|\\.)*)")

Resolver = Callable[..., Sequence[tuple[Any, ...]]]


def dialect_of(dsn: str) -> str | None:
    """``postgresql`` / ``mysql`` / ``sqlite`` / another URL scheme; keyword strings are libpq."""
    if "://" not in dsn:
        return "postgresql" if _KEYWORD.match(dsn) else None
    scheme = dsn.split("://", 1)[0].split("+", 1)[0].lower()
    return {"postgres": "postgresql", "mariadb": "mysql"}.get(scheme, scheme)


def dsn_hosts(dsn: str, environ: Mapping[str, str] | None = None) -> list[DsnHost]:
    """Every server ``dsn`` would connect to; empty for file databases (sqlite)."""
    dialect = dialect_of(dsn)
    if dialect not in _DEFAULT_PORTS:
        return []
    if "://" in dsn:
        parts = urlsplit(dsn)
        netloc = parts.netloc.rpartition("@")[2]
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        netloc_hosts = [_split_host_port(item) for item in netloc.split(",") if item]
    else:
        params = _keywords(dsn)
        netloc_hosts = []
    default_port = _DEFAULT_PORTS[dialect]
    if dialect == "mysql":
        return _mysql_hosts(params, netloc_hosts, default_port)
    return _pg_hosts(params, netloc_hosts, default_port, os.environ if environ is None else environ)


def _keywords(dsn: str) -> dict[str, str]:
    """libpq ``key=value`` pairs (values may be single-quoted, with backslash escapes)."""
    out: dict[str, str] = {}
    for key, raw in _KEYWORD.findall(dsn):
        value = raw[1:-1] if raw.startswith("'") and raw.endswith("'") and len(raw) > 1 else raw
        out[key.lower()] = re.sub(r"\\(.)", r"\1", value)
    return out


def _split_host_port(item: str) -> tuple[str, str]:
    """``host[:port]`` of a URL netloc entry; IPv6 literals come in brackets."""
    item = unquote(item)
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        return host, rest.lstrip(":")
    if item.count(":") == 1:
        host, _, port = item.partition(":")
        return host, port
    return item, ""


def _port(text: str, default: int) -> int:
    try:
        return int(text) if text.strip() else default
    except ValueError:
        raise ProbeError("config", "the DSN names a port that is not a number") from None


def _pg_hosts(
    params: Mapping[str, str],
    netloc_hosts: list[tuple[str, str]],
    default_port: int,
    environ: Mapping[str, str],
) -> list[DsnHost]:
    """libpq's rules: query/keyword ``host`` overrides the URL's, ``hostaddr`` pairs with it,
    ``PGHOST``/``PGHOSTADDR``/``PGPORT`` fill what the DSN leaves out."""
    hosts = params.get("host")
    addrs = params.get("hostaddr")
    if hosts is None and netloc_hosts:
        hosts = ",".join(h for h, _ in netloc_hosts)
    if hosts is None and addrs is None:
        hosts, addrs = environ.get("PGHOST"), environ.get("PGHOSTADDR")
    host_list = (hosts or "").split(",")
    addr_list = (addrs or "").split(",")
    count = max(len(host_list), len(addr_list))
    host_list += [""] * (count - len(host_list))
    addr_list += [""] * (count - len(addr_list))
    ports = params.get("port")
    if ports is None and netloc_hosts:
        ports = ",".join(p for _, p in netloc_hosts)
    port_list = (ports if ports is not None else environ.get("PGPORT", "")).split(",")
    if len(port_list) == 1:
        port_list *= count
    port_list += [""] * (count - len(port_list))
    return [
        DsnHost(h.strip(), _port(p, default_port), a.strip())
        for h, a, p in zip(host_list, addr_list, port_list, strict=False)
    ]


def _mysql_hosts(
    params: Mapping[str, str], netloc_hosts: list[tuple[str, str]], default_port: int
) -> list[DsnHost]:
    host, port = netloc_hosts[0] if netloc_hosts else ("localhost", "")
    found = [DsnHost(host or "localhost", _port(port, default_port))]
    for key in ("host", "unix_socket"):
        if params.get(key):
            found.append(DsnHost(params[key], default_port))
    return found


def allowed_endpoints(
    dsn: str,
    policy: AddressPolicy,
    resolve: Resolver | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Endpoint]:
    """Each host of ``dsn`` with the first address of it the policy allows.

    Raises ProbeError ``blocked_by_policy`` when any host has no allowed address (a driver
    may fall over to any host of a list), ``dns`` when a name does not resolve. Messages
    name hosts, never the DSN (it holds a password).
    """
    return [
        _endpoint(host, policy, resolve or socket.getaddrinfo) for host in dsn_hosts(dsn, environ)
    ]


def _endpoint(host: DsnHost, policy: AddressPolicy, resolve: Resolver) -> Endpoint:
    if host.is_socket:
        reason = policy.verdict(LOCAL_SOCKET_ADDRESS)
        if reason is not None:
            name = host.target or "the default local socket"
            raise ProbeError(
                "blocked_by_policy",
                f"database socket {name}: blocked by the address policy "
                f"(a local socket counts as loopback: {reason})",
            )
        return Endpoint(host, None)
    refusals = []
    for address in _addresses(host.target, host.port, resolve):
        reason = policy.verdict(address)
        if reason is None:
            return Endpoint(host, address)
        refusals.append(reason)
    raise ProbeError(
        "blocked_by_policy",
        f"database host {host.target}: blocked by the address policy ({'; '.join(refusals)})",
    )


def _addresses(name: str, port: int, resolve: Resolver) -> list[str]:
    try:
        infos = resolve(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        detail = getattr(exc, "strerror", None) or exc
        raise ProbeError("dns", f"cannot resolve the database host {name}: {detail}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))  # unique, in order
