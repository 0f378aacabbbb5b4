"""Which engine carries the probes' HTTP: ``[auditor] probe_engine`` (issue #19).

``httpx`` is the pure-Python engine (``auditor.probe.http``); ``curl`` runs each exchange
in libcurl (``auditor.probe.curl_engine``) at a fraction of the CPU per probe. Both keep one
contract (``auditor.probe.interface.Prober``) and the same address policy on every
connection; API clients and alert deliveries keep httpx whatever is chosen here.
"""

from __future__ import annotations

from typing import Literal

from auditor.probe.addresses import AddressPolicy
from auditor.probe.http import HttpProber

ProbeEngine = Literal["curl", "httpx"]
ENGINES: tuple[ProbeEngine, ...] = ("curl", "httpx")


def new_prober(
    engine: ProbeEngine,
    policy: AddressPolicy | None = None,
    *,
    max_connections: int = 200,
    source_address: str | None = None,
) -> HttpProber:
    """The shared prober of one process, on the configured engine."""
    if engine == "curl":
        from auditor.probe.curl_engine import CurlProber  # pycurl only when chosen

        return CurlProber(policy, max_connections=max_connections, source_address=source_address)
    return HttpProber(policy, max_connections=max_connections, source_address=source_address)
