"""Located checks in the store (PostgreSQL): per-location claims, runs, state and findings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from auditor.config import ConfigError, parse_config
from auditor.config.sync import sync_config
from auditor.schedule.located import Claimer
from auditor.schedule.rules import COMPLETION_RULES
from auditor.schedule.runner import RunResult
from auditor.store.claims import Claim, claim_due, release
from auditor.store.db import Database
from auditor.store.location_claims import adopt_location, claim_located
from auditor.store.location_models import CheckLocation
from auditor.store.models import Check, CheckState, Run, Transition, utcnow
from auditor.store.nodes import heartbeat_node, remove_node
from auditor.store.runs import complete
from checks.base import Finding, RunStatus


def config(pg_url: str, locations: Any = "all", quorum: int | None = 2) -> Any:
    check: dict[str, Any] = {"kind": "health", "interval": "60s", "failure_threshold": 1}
    if locations is not None:
        check["locations"] = locations
    if quorum is not None:
        check["quorum"] = quorum
    return parse_config(
        {
            "auditor": {"database_url": pg_url, "locations": ["a", "b", "c"]},
            "services": [
                {"name": "shop", "url": "http://127.0.0.1:9", "checks": [check]},
                {"name": "plain", "url": "http://127.0.0.1:9", "checks": [{"kind": "health"}]},
            ],
        },
        environ={},
    )


def result(claim: Claim, status: str, at: Any = None) -> RunResult:
    findings = [] if status == "pass" else [Finding("health.status", "high", "HTTP 500")]
    return RunResult(
        target=claim.target,
        status=RunStatus(status),
        summary=status,
        findings=findings,
        facts={},
        started_at=at or utcnow(),
        duration_ms=12.0,
    )


def run_round(store: Database, statuses: dict[str, str], at: Any) -> None:
    """Each named location claims its due run of ``shop`` and stores ``status``."""
    for location, status in statuses.items():
        claims = [
            c
            for c in claim_located(store, f"w-{location}", location, at, 10, 60.0)
            if c.target.service == "shop"
        ]
        assert len(claims) == 1, (location, claims)
        assert claims[0].location == location
        written = complete(
            store, COMPLETION_RULES, [(claims[0], result(claims[0], status, at))], f"w-{location}"
        )
        assert len(written) == 1


def shop_state(store: Database) -> CheckState:
    with store.read() as s:
        chk = s.exec(select(Check).where(Check.name == "health", Check.quorum.is_not(None))).one()  # type: ignore[union-attr]
        state = s.get(CheckState, chk.id)
        assert state is not None
        return state


@pytest.fixture
def store(pg_url: str) -> Any:
    db = Database(pg_url)
    db.upgrade()
    sync_config(db, config(pg_url))
    for location in "abc":
        heartbeat_node(db, f"w-{location}", "worker", "host", 1, location)
    for location in "abc":
        adopt_location(db, location, utcnow())
    yield db
    db.close()


def test_each_location_runs_its_own_copy_and_quorum_decides(store: Database) -> None:
    t0 = utcnow() + timedelta(seconds=1)
    # a worker without a location never takes a located check; it still runs the plain one
    plain = claim_due(store, "w-none", t0, 10, 60.0)
    assert [c.target.service for c in plain] == ["plain"]
    release(store, plain, "w-none")

    run_round(store, {"a": "pass", "b": "pass", "c": "fail"}, t0)
    state = shop_state(store)
    assert state.state == "pass"
    assert [f["code"] for f in state.last_findings] == ["location.unconfirmed"]
    with store.read() as s:
        runs = s.exec(select(Run).where(Run.check_id == state.check_id)).all()
        assert sorted((r.location, r.status) for r in runs) == [
            ("a", "pass"),
            ("b", "pass"),
            ("c", "fail"),
        ]
        # one due time, three runs: uniqueness is per (check, location, due time)
        assert len({r.due_at for r in runs}) == 1
        assert not s.exec(select(Transition).where(Transition.state == "fail")).all()

    t1 = t0 + timedelta(seconds=61)
    run_round(store, {"a": "pass", "b": "fail", "c": "fail"}, t1)
    state = shop_state(store)
    assert state.state == "fail"
    assert sorted(state.metrics["failing"]) == ["b", "c"]
    assert {f.get("location") for f in state.last_findings} == {"b", "c"}
    with store.read() as s:
        fails = s.exec(select(Transition).where(Transition.state == "fail")).all()
        assert len(fails) == 1 and fails[0].previous_state == "pass"
        assert {f["location"] for f in fails[0].findings} == {"b", "c"}


def test_a_location_without_a_live_worker_is_a_finding(store: Database) -> None:
    remove_node(store, "w-c")  # c's only worker stopped
    t0 = utcnow() + timedelta(seconds=1)
    run_round(store, {"a": "pass", "b": "pass"}, t0)
    state = shop_state(store)
    assert state.state == "warn"
    dark = [f for f in state.last_findings if f["code"] == "location.no_live_worker"]
    assert [f["location"] for f in dark] == ["c"]
    assert "location c has no live worker" in dark[0]["message"]
    assert "no live worker in c" in state.last_summary


def test_run_now_reaches_every_location(store: Database) -> None:
    t0 = utcnow() + timedelta(seconds=1)
    run_round(store, {"a": "pass", "b": "pass", "c": "pass"}, t0)
    # the next due time is the check's next grid point (its phase comes from the random
    # check id), anywhere up to 60 s ahead: probe just before it, at most 5 s on
    with store.read() as s:
        first_due = min(r.next_run_at or t0 for r in s.exec(select(CheckLocation)).all())
    later = min(t0 + timedelta(seconds=5), first_due - timedelta(microseconds=1))
    assert not claim_located(store, "w-a", "a", later, 10, 60.0)  # not due yet
    with store.write() as s:  # what "run now" and a changed schedule do
        chk = s.exec(select(Check).where(Check.quorum.is_not(None))).one()  # type: ignore[union-attr]
        chk.next_run_at = later
        s.add(chk)
    claimer = Claimer("a", adopt_every_s=0)
    got = claimer.claim(store, "w-a", later, 10, 60.0, horizon_s=0.0)
    assert [(c.target.service, c.location) for c in got] == [("plain", ""), ("shop", "a")]


def test_dropping_a_location_drops_its_row(store: Database, pg_url: str) -> None:
    sync_config(store, config(pg_url, locations=["a", "b"], quorum=1))
    adopt_location(store, "c", utcnow())
    with store.read() as s:
        assert sorted(r.location for r in s.exec(select(CheckLocation)).all()) == ["a", "b"]


def test_locations_are_refused_on_sqlite(sqlite_url: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(
            {
                "auditor": {"database_url": sqlite_url},
                "services": [
                    {
                        "name": "shop",
                        "url": "http://x.test",
                        "checks": [{"kind": "health", "locations": ["a", "b"]}],
                    }
                ],
            },
            environ={},
        )
    assert any(
        p.startswith("services[0].checks[0].locations: probing from several locations needs")
        for p in exc.value.problems
    ), exc.value.problems
    with pytest.raises(ConfigError) as exc:
        parse_config({"auditor": {"database_url": sqlite_url}}, environ={"AUDITOR_LOCATION": "a"})
    assert any("location" in p and "PostgreSQL" in p for p in exc.value.problems)


@pytest.mark.parametrize(
    ("check", "problem"),
    [
        ({"locations": ["a", "x"]}, "services[0].checks[0].locations[1]: unknown location 'x'"),
        ({"locations": ["a"], "quorum": 2}, "services[0].checks[0].quorum: 2 is more than"),
        ({"quorum": 2}, "services[0].checks[0].quorum: needs locations"),
        ({"locations": []}, "services[0].checks[0].locations: must name at least one"),
        ({"locations": ["a", "a"]}, "services[0].checks[0].locations: lists a location twice"),
        ({"locations": "some"}, "services[0].checks[0].locations"),
    ],
)
def test_bad_locations_name_the_key(pg_url: str, check: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(
            {
                "auditor": {"database_url": pg_url, "locations": ["a", "b", "c"]},
                "services": [
                    {
                        "name": "shop",
                        "url": "http://x.test",
                        "checks": [{"kind": "health", **check}],
                    }
                ],
            },
            environ={},
        )
    assert any(p.startswith(problem) for p in exc.value.problems), exc.value.problems


def test_all_needs_declared_locations(pg_url: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(
            {
                "auditor": {"database_url": pg_url},
                "services": [
                    {
                        "name": "s",
                        "url": "http://x.test",
                        "checks": [{"kind": "health", "locations": "all"}],
                    }
                ],
            },
            environ={},
        )
    assert any('"all" needs [auditor] locations' in p for p in exc.value.problems)


def test_metrics_carry_each_location_in_new_families(store: Database) -> None:
    from prometheus_client import generate_latest
    from prometheus_client.registry import CollectorRegistry

    from auditor.metrics.collector import StoreCollector

    remove_node(store, "w-c")
    t0 = utcnow() + timedelta(seconds=1)
    run_round(store, {"a": "pass", "b": "fail"}, t0)
    reg = CollectorRegistry()
    reg.register(StoreCollector(store, now=lambda: t0 + timedelta(seconds=1)))
    labels = {"service": "shop", "check": "health", "kind": "health"}

    def get(name: str, **extra: str) -> float | None:
        return reg.get_sample_value(name, {**labels, **extra})

    assert get("auditor_check_location_status", location="a", status="pass") == 1.0
    assert get("auditor_check_location_status", location="b", status="fail") == 1.0
    assert get("auditor_check_location_status", location="c", status="unknown") == 1.0
    assert get("auditor_check_location_duration_seconds", location="b") == 0.012
    assert reg.get_sample_value("auditor_location_live_workers", {"location": "c"}) == 0.0
    assert reg.get_sample_value("auditor_location_live_workers", {"location": "a"}) == 1.0
    # the existing family keeps its labels and shows the combined (quorum) state:
    # 1 of 2 voters fails at quorum 2 and c is dark, so warn
    assert get("auditor_check_status", status="warn") == 1.0
    text = generate_latest(reg).decode()
    assert 'auditor_check_status{check="health",kind="health",service="shop",status="warn"}' in text


def test_workers_of_one_location_share_its_runs_and_take_over_a_dead_ones_lease(
    store: Database,
) -> None:
    t0 = utcnow() + timedelta(seconds=1)
    first = claim_located(store, "w-a1", "a", t0, 10, 5.0)
    assert [c.location for c in first] == ["a"]
    # a second worker of the same location finds nothing to do for that due time …
    assert claim_located(store, "w-a2", "a", t0, 10, 5.0) == []
    # … while another location claims its own copy
    assert [c.location for c in claim_located(store, "w-b", "b", t0, 10, 5.0)] == ["b"]
    # w-a1 dies without storing: once its lease lapses, w-a2 runs the same due time
    later = first[0].lease_until + timedelta(seconds=1)
    (again,) = claim_located(store, "w-a2", "a", later, 10, 5.0)
    assert again.due_at == first[0].due_at and again.location == "a"
    written = complete(store, COMPLETION_RULES, [(again, result(again, "pass", later))], "w-a2")
    assert len(written) == 1
    # the dead worker's late result for that due time is not stored twice
    late = complete(store, COMPLETION_RULES, [(first[0], result(first[0], "fail", later))], "w-a1")
    assert late == []


def test_a_worker_location_must_be_a_declared_one(pg_url: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(
            {"auditor": {"database_url": pg_url, "locations": ["eu-west", "us-east"]}},
            environ={"AUDITOR_LOCATION": "eu-wset"},
        )
    assert any(
        p.startswith("auditor.location (from AUDITOR_LOCATION): 'eu-wset' is not one of")
        for p in exc.value.problems
    ), exc.value.problems
