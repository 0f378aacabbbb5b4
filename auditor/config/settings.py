"""The ``[auditor]`` table: the daemon's own settings (DESIGN §4)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictBool, ValidationInfo, field_validator

from auditor.config.fields import StrictModel, require_cidrs, require_http_url
from auditor.config.locations import require_address, require_location, require_locations
from auditor.probe.addresses import AddressPolicy
from auditor.probe.engines import ProbeEngine
from checks.bounds import DAY, HOUR, MAX_AGE_S, Interval, Timeout, duration_between
from checks.units import parse_duration, parse_size

#: how long history is kept raw: 1h to 10 years
Retention = Annotated[float, BeforeValidator(parse_duration), duration_between(HOUR, MAX_AGE_S)]
#: a claim's lease: 1s to 1d (a run's lease is stretched to cover its own timeout)
Lease = Annotated[float, BeforeValidator(parse_duration), duration_between(1.0, DAY)]
#: how long SIGTERM may take: 1s to 1h
EvidenceSize = Annotated[int, BeforeValidator(parse_size), Field(ge=1024, le=100 * 1024 * 1024)]
DrainTimeout = Annotated[float, BeforeValidator(parse_duration), duration_between(1.0, HOUR)]


class AuditorSettings(StrictModel):
    """The ``[auditor]`` table; every key can be overridden by ``AUDITOR_<KEY>``."""

    database_url: str = "sqlite:///auditor.db"
    listen: str = "127.0.0.1:8080"
    concurrency: int = Field(100, gt=0, le=10_000)
    default_interval: Interval = 300.0
    default_timeout: Timeout = 10.0
    retention: Retention = 30 * 86400.0
    #: how long audit events are kept (longer than runs: who changed what outlives results)
    audit_retention: Retention = 365 * 86400.0
    allow_private_networks: StrictBool = True
    allow_cidrs: list[str] = []
    deny_cidrs: list[str] = []
    tls_cert: str | None = None
    tls_key: str | None = None
    lease: Lease = 60.0
    #: on SIGTERM, in-flight checks get this long to finish and be stored; then the rest
    #: are given back (released) and the process exits
    drain_timeout: DrainTimeout = 25.0
    public_url: str | None = None
    anonymous_read: StrictBool = False
    metrics_token_env: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    #: web server processes sharing ``listen``; 0 = one per CPU for ``web``, 1 for ``serve``
    web_processes: int = Field(0, ge=0, le=64)
    #: what carries the probes' HTTP: "curl" (libcurl, least CPU per probe) or "httpx"
    probe_engine: ProbeEngine = "curl"
    #: probe processes of ``worker``/``serve``, each claiming its share of due checks from
    #: the database: a number, or "auto" (0 too) = one per usable CPU; ``concurrency`` is
    #: per process
    worker_processes: Annotated[int, Field(ge=0, le=64)] | Literal["auto"] = 1
    #: the probe locations a check's ``locations = "all"`` means (before ``location``,
    #: whose validator reads it)
    locations: list[str] = []
    #: this process's probe location ("" = none); ``--location`` wins (PostgreSQL only)
    location: str = ""
    #: the local address probes connect from; ``--source-address`` wins
    source_address: str | None = None
    #: the largest CI/CD report ``POST …/evidence`` stores (1 KiB – 100 MiB)
    evidence_max_size: EvidenceSize = 10 * 1024 * 1024

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError('must be "host:port", e.g. "127.0.0.1:8080"')
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        return value if value is None else require_http_url(value)

    @field_validator("allow_cidrs", "deny_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        return require_cidrs(value)

    @field_validator("location")
    @classmethod
    def _location(cls, value: str, info: ValidationInfo) -> str:
        declared = info.data.get("locations") or []
        return require_location(value, str(info.data.get("database_url", "")), declared)

    @field_validator("locations")
    @classmethod
    def _locations(cls, value: list[str], info: ValidationInfo) -> list[str]:
        return require_locations(value, str(info.data.get("database_url", "")))

    @field_validator("source_address")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        return require_address(value)

    def address_policy(self) -> AddressPolicy:
        return AddressPolicy(
            allow_private_networks=self.allow_private_networks,
            allow_cidrs=tuple(ipaddress.ip_network(c, strict=False) for c in self.allow_cidrs),
            deny_cidrs=tuple(ipaddress.ip_network(c, strict=False) for c in self.deny_cidrs),
        )

    @property
    def listen_host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def listen_port(self) -> int:
        return int(self.listen.rpartition(":")[2])
