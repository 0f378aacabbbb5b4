"""Database checks obey the address policy for every host a DSN names (issue #17, DESIGN §8).

A DSN can point libpq elsewhere than its URL host (``?host=``, ``?hostaddr=``, multi-host
lists, keyword strings, sockets): each is refused *before* any connection, and an allowed
DSN still reaches the real PostgreSQL on 127.0.0.1:5432.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from auditor.probe.addresses import AddressPolicy
from auditor.probe.dsn_hosts import allowed_endpoints, dsn_hosts
from auditor.probe.http import HttpProber
from auditor.probe.interface import DsnHost
from auditor.probe.outcome import ProbeError
from auditor.schedule.runner import RunResult, run_check
from checks.base import RunStatus, Target
from checks.migrations import MigrationsCheck
from tests.checks.data.ledgers import EXPECTED, build

STRICT = AddressPolicy(allow_private_networks=False)


@pytest.mark.parametrize(
    ("dsn", "hosts"),
    [
        pytest.param(
            "postgresql://u:pw@db.internal:6543/app",
            [DsnHost("db.internal", 6543)],
            id="url-host",
        ),
        pytest.param(
            "postgresql://u:pw@127.0.0.1/app?host=169.254.169.254",
            [DsnHost("169.254.169.254", 5432)],
            id="query-host-overrides-url",
        ),
        pytest.param(
            "postgresql://u:pw@db/app?hostaddr=10.0.0.1",
            [DsnHost("db", 5432, "10.0.0.1")],
            id="query-hostaddr",
        ),
        pytest.param(
            "postgresql://u@/app?host=a,b&hostaddr=,192.0.0.192&port=1,2",
            [DsnHost("a", 1), DsnHost("b", 2, "192.0.0.192")],
            id="query-multi-host",
        ),
        pytest.param(
            "postgresql://u@h1:5433,[::1]:5434/app",
            [DsnHost("h1", 5433), DsnHost("::1", 5434)],
            id="url-multi-host",
        ),
        pytest.param(
            "host=a hostaddr=100.100.100.200 port=5433 dbname=app password='x y\\'z'",
            [DsnHost("a", 5433, "100.100.100.200")],
            id="keywords",
        ),
        pytest.param(
            "postgresql://u@%2Fvar%2Frun%2Fpostgresql/app",
            [DsnHost("/var/run/postgresql", 5432)],
            id="url-socket",
        ),
        pytest.param("postgresql:///app", [DsnHost("", 5432)], id="default-socket"),
        pytest.param(
            "mysql+pymysql://r:pw@db:3307/app?unix_socket=/run/mysqld.sock",
            [DsnHost("db", 3307), DsnHost("/run/mysqld.sock", 3306)],
            id="mysql-unix-socket",
        ),
        pytest.param("mysql+pymysql://r@/app", [DsnHost("localhost", 3306)], id="mysql-default"),
        pytest.param("sqlite:////tmp/app.db", [], id="sqlite"),
    ],
)
def test_every_host_a_dsn_names(dsn: str, hosts: list[DsnHost]) -> None:
    assert dsn_hosts(dsn, environ={}) == hosts


def test_libpq_environment_fills_a_dsn_without_host() -> None:
    env = {"PGHOST": "metadata.test", "PGHOSTADDR": "169.254.169.254", "PGPORT": "5433"}
    assert dsn_hosts("postgresql://u@/app", env) == [
        DsnHost("metadata.test", 5433, "169.254.169.254")
    ]


def _resolver(zone: dict[str, str]) -> Any:
    def resolve(name: str, port: int, **_: Any) -> list[tuple[Any, ...]]:
        if name not in zone:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (zone[name], port))]

    return resolve


def test_names_are_resolved_and_pinned() -> None:
    resolve = _resolver({"db.internal": "10.0.0.5", "imds.evil.test": "169.254.169.254"})
    [endpoint] = allowed_endpoints("postgresql://u@db.internal/app", AddressPolicy(), resolve)
    assert endpoint.address == "10.0.0.5"
    with pytest.raises(ProbeError) as info:
        allowed_endpoints("postgresql://u@imds.evil.test/app", AddressPolicy(), resolve)
    assert info.value.error_kind == "blocked_by_policy"
    with pytest.raises(ProbeError) as info:
        allowed_endpoints("postgresql://u@nowhere.test/app", AddressPolicy(), resolve)
    assert info.value.error_kind == "dns"


def test_sockets_count_as_loopback() -> None:
    for dsn in ("postgresql:///app", "postgresql://u@/app?host=/tmp"):
        assert allowed_endpoints(dsn, AddressPolicy(), environ={})[0].address is None
        with pytest.raises(ProbeError) as info:
            allowed_endpoints(dsn, STRICT, environ={})
        assert info.value.error_kind == "blocked_by_policy"


# -- on a real PostgreSQL -------------------------------------------------------------------


@pytest.fixture
def ledger_url(pg_url: str) -> str:
    """pg_url's schema holding a clean Flyway ledger; a plain postgresql:// URL."""
    schema = pg_url.split("search_path%3D", 1)[1]
    sql, _ = build("flyway", "postgresql", "clean")
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
    ) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        for stmt in sql:
            conn.execute(stmt)
    return pg_url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every psycopg.connect the check makes; only loopback ones then really connect (libpq's
    sockets are out of reach of a Python socket guard, so a regression must stop here)."""
    calls: list[dict[str, Any]] = []
    real = psycopg.connect
    local = {"", "127.0.0.1", "::1", "localhost"}

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        targets = f"{kwargs.get('host') or ''},{kwargs.get('hostaddr') or ''}".split(",")
        if args or not all(t in local or t.startswith("/") for t in targets):
            raise ConnectionRefusedError("test guard: not a loopback connection")
        return real(*args, **kwargs)

    monkeypatch.setattr(psycopg, "connect", recording)
    yield calls


async def audit(dsn: str, policy: AddressPolicy | None = None) -> RunResult:
    check = MigrationsCheck()
    options = check.Options.model_validate(
        {"tool": "flyway", "dsn_env": "APP_DSN", "expected": EXPECTED["flyway"]}
    )
    target = Target("svc", "https://svc.example", "migrations", "migrations")
    prober = HttpProber(policy) if policy else HttpProber()
    try:
        return await run_check(
            check, target, options, prober=prober, timeout=10, environ={"APP_DSN": dsn}
        )
    finally:
        await prober.aclose()


def _variants(url: str) -> dict[str, str]:
    """The ledger URL, and its options, respelled to point elsewhere."""
    options = urlsplit(url).query  # options=-csearch_path%3D<schema>
    return {
        "query-host": f"postgresql://postgres@/test?host=169.254.169.254&{options}",
        "query-host-over-url-host": f"{url}&host=169.254.169.254",
        "query-hostaddr": f"{url}&hostaddr=169.254.169.254",
        "query-multi-host": f"postgresql://postgres@/test?host=127.0.0.1,192.0.0.192&{options}",
        "query-hostaddr-alibaba": f"{url}&hostaddr=100.100.100.200",
        "translated-v6": f"postgresql://postgres@[::ffff:0:a9fe:a9fe]:5432/test?{options}",
        "keyword-host": "host=169.254.169.254 port=5432 user=postgres dbname=test",
        "keyword-hostaddr": "host=127.0.0.1 hostaddr=169.254.169.254 user=postgres dbname=test",
    }


@pytest.mark.parametrize("variant", sorted(_variants("postgresql://x@h/d?o=1")))
async def test_a_dsn_pointing_at_metadata_is_refused_without_connecting(
    ledger_url: str, connects: list[dict[str, Any]], variant: str
) -> None:
    result = await audit(_variants(ledger_url)[variant])
    assert result.status is RunStatus.ERROR, result.summary
    assert result.error_kind == "blocked_by_policy", result.summary
    assert [f.code for f in result.findings] == ["migrations.blocked_by_policy"]
    assert "address policy" in result.summary
    assert connects == [], "the check connected past the policy"


async def test_a_local_socket_is_refused_in_strict_mode(connects: list[dict[str, Any]]) -> None:
    result = await audit("postgresql://postgres@/test?host=/var/run/postgresql", STRICT)
    assert result.error_kind == "blocked_by_policy", result.summary
    assert connects == []


@pytest.mark.parametrize("spelling", ["url-host", "query-host", "query-hostaddr"])
async def test_an_allowed_dsn_still_works(
    ledger_url: str, connects: list[dict[str, Any]], spelling: str
) -> None:
    options = urlsplit(ledger_url).query
    dsn = {
        "url-host": ledger_url,
        "query-host": f"postgresql://postgres@/test?host=127.0.0.1&port=5432&{options}",
        "query-hostaddr": f"postgresql://postgres@localhost:5432/test?hostaddr=127.0.0.1&{options}",
    }[spelling]
    result = await audit(dsn)
    assert result.status is RunStatus.PASS, result.to_dict()
    assert result.facts["ledger"]["applied_count"] == len(EXPECTED["flyway"])
    [call] = connects
    assert call["hostaddr"] == "127.0.0.1"  # pinned: libpq does not resolve again
