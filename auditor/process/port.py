"""Refusing a listen port that another process already serves.

Our own web processes share one port through ``SO_REUSEPORT`` (each gunicorn worker binds
its own socket). The kernel lets *any* process of the same user join such a group, so a
second, unrelated ``auditor serve`` or ``auditor demo`` on the same port would silently take
half the requests. Before binding, the daemon therefore tries an exclusive bind and listen:
``SO_REUSEADDR`` alone ignores connections left in TIME_WAIT by a previous run, but not a
listening socket, ours or anyone else's.
"""

from __future__ import annotations

import errno
import socket

#: how to move the daemon to another address; every way that sets ``[auditor] listen``
HOW_TO_CHANGE = (
    "choose another address with --listen HOST:PORT, the AUDITOR_LISTEN environment "
    "variable, or `listen` under [auditor] in the config file"
)


class PortBusy(Exception):
    """Another process listens on the address the daemon was told to use."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        super().__init__(
            f"port {port} on {host} is already in use by another process "
            f"(is another auditor running?); {HOW_TO_CHANGE}"
        )


def ensure_port_free(host: str, port: int) -> None:
    """Raise :class:`PortBusy` when some process listens on ``host:port``.

    Port 0 (let the system choose) is always free. Other bind errors (an address this host
    does not have, a privileged port) are left to the real bind, which reports them itself.
    """
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return
    family, _type, _proto, _name, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortBusy(host, port) from exc
