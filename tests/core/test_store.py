"""Store behaviour on SQLite and PostgreSQL: config sync, claiming with leases, one run per due time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from auditor.config import parse_config
from auditor.config.sync import sync_config
from auditor.schedule.rules import COMPLETION_RULES
from auditor.schedule.runner import RunResult
from auditor.store.claims import Claim, claim_due, release
from auditor.store.db import Database
from auditor.store.models import Check, CheckState, Run, Service, Transition, utcnow
from auditor.store.runs import complete
from checks.base import Finding, RunStatus


def _config(services: list[dict[str, Any]]) -> Any:
    return parse_config({"services": services}, environ={})


def _svc(name: str, checks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "url": f"http://127.0.0.1:9/{name}", "checks": checks, **extra}


def _result(claim: Claim, status: str, at: Any = None) -> RunResult:
    findings = [] if status == "pass" else [Finding(f"{claim.kind}.status", "high", status)]
    return RunResult(
        target=claim.target,
        status=RunStatus(status),
        summary=status,
        findings=findings,
        facts={"n": 1},
        started_at=at or utcnow(),
        duration_ms=5.0,
    )


def test_sync_adds_changes_and_disables_without_deleting(db_url: str) -> None:
    store = Database(db_url)
    first = _config(
        [
            _svc("a", [{"kind": "health"}, {"kind": "health", "name": "ready", "path": "/ready"}]),
            _svc("b", [{"kind": "health"}]),
        ]
    )
    counts = sync_config(store, first)
    assert counts["services_added"] == 2 and counts["checks_added"] == 3
    # same file again: nothing changes
    again = sync_config(store, first)
    assert sum(again.values()) == 0

    claims = claim_due(store, "w1", utcnow() + timedelta(seconds=1), 10, 60)
    complete(store, COMPLETION_RULES, [(c, _result(c, "pass")) for c in claims], "w1")

    second = _config([_svc("a", [{"kind": "health", "path": "/healthz"}], environment="staging")])
    counts = sync_config(store, second)
    assert counts == {
        "services_added": 0,
        "services_updated": 1,
        "services_disabled": 1,
        "checks_added": 0,
        "checks_updated": 1,
        "checks_disabled": 2,
    }
    with store.read() as s:
        services = {x.name: x for x in s.exec(select(Service)).all()}
        checks = {(c.service_id, c.name): c for c in s.exec(select(Check)).all()}
        runs = s.exec(select(Run)).all()
    assert services["a"].environment == "staging" and services["a"].enabled
    assert not services["b"].enabled  # disabled, not deleted
    assert checks[(services["a"].id, "health")].options == {"path": "/healthz"}
    assert not checks[(services["a"].id, "ready")].enabled
    assert len(runs) == 3  # history kept
    # disabled checks are never claimed
    later = claim_due(store, "w1", utcnow() + timedelta(days=1), 10, 60)
    assert [c.name for c in later] == ["health"]
    # re-adding a removed service re-enables it with its history
    sync_config(store, first)
    with store.read() as s:
        assert s.exec(select(Service).where(Service.name == "b")).one().enabled


def test_claims_are_exclusive_until_the_lease_expires(db_url: str) -> None:
    store = Database(db_url)
    sync_config(store, _config([_svc("a", [{"kind": "health", "interval": "1m"}])]))
    now = utcnow() + timedelta(seconds=1)
    first = claim_due(store, "w1", now, 10, 60)
    assert len(first) == 1
    assert claim_due(store, "w2", now, 10, 60) == []
    # the lease (at least timeout + 10 s) expires: another worker takes the same due time over
    taken = claim_due(store, "w2", now + timedelta(seconds=61), 10, 60)
    assert [c.due_at for c in taken] == [first[0].due_at]
    # both report: only one run is stored for that due time
    written = complete(store, COMPLETION_RULES, [(first[0], _result(first[0], "pass"))], "w1")
    written2 = complete(store, COMPLETION_RULES, [(taken[0], _result(taken[0], "fail"))], "w2")
    assert len(written) == 1 and written2 == []
    assert store.count(Run) == 1


def test_complete_writes_state_transition_and_next_due(db_url: str) -> None:
    store = Database(db_url)
    sync_config(
        store, _config([_svc("a", [{"kind": "health", "interval": "1m", "failure_threshold": 2}])])
    )
    t0 = utcnow()
    claim = claim_due(store, "w", t0 + timedelta(seconds=1), 10, 60)[0]
    complete(store, COMPLETION_RULES, [(claim, _result(claim, "pass", t0))], "w", now=t0)
    with store.read() as s:
        chk = s.exec(select(Check)).one()
        state = s.get(CheckState, chk.id)
    assert chk.lease_owner is None and chk.next_run_at is not None
    assert t0 < chk.next_run_at <= t0 + timedelta(seconds=61)
    assert state is not None and state.state == "pass"

    # one fail does not flip an established pass (threshold 2); the second does, with a transition
    for i, status in enumerate(["fail", "fail"]):
        at = t0 + timedelta(minutes=i + 1)
        c = claim_due(store, "w", at + timedelta(minutes=1), 10, 60)[0]
        complete(store, COMPLETION_RULES, [(c, _result(c, status, at))], "w", now=at)
    with store.read() as s:
        state = s.get(CheckState, chk.id)
        transitions = s.exec(select(Transition).order_by(Transition.at)).all()
    assert state is not None and state.state == "fail" and state.consecutive_fail == 2
    assert [(t.previous_state, t.state) for t in transitions] == [
        ("unknown", "pass"),
        ("pass", "fail"),
    ]
    assert transitions[-1].findings[0]["code"] == "health.status"


def test_restart_runs_overdue_checks_once(db_url: str) -> None:
    store = Database(db_url)
    sync_config(store, _config([_svc("a", [{"kind": "health", "interval": "1m"}])]))
    t0 = utcnow()
    claim = claim_due(store, "w", t0 + timedelta(seconds=1), 10, 60)[0]
    complete(store, COMPLETION_RULES, [(claim, _result(claim, "pass", t0))], "w", now=t0)
    # the daemon was down for an hour: 60 due times were missed, the check runs once
    later = t0 + timedelta(hours=1)
    claims = claim_due(store, "w", later, 100, 60)
    assert len(claims) == 1
    complete(
        store, COMPLETION_RULES, [(claims[0], _result(claims[0], "pass", later))], "w", now=later
    )
    # none of the missed due times comes back (the next run, on the check's own schedule,
    # may legitimately fall within the second after ``later``)
    again = claim_due(store, "w", later + timedelta(seconds=1), 100, 60)
    assert [c.due_at for c in again if c.due_at <= later] == []
    store.close()
    # a new process on the same database keeps the schedule
    reopened = Database(db_url)
    with reopened.read() as s:
        nxt = s.exec(select(Check)).one().next_run_at
    assert nxt is not None and later < nxt <= later + timedelta(seconds=61)


def test_checks_spread_over_the_interval(db_url: str) -> None:
    store = Database(db_url)
    sync_config(
        store, _config([_svc(f"s{i}", [{"kind": "health", "interval": "1m"}]) for i in range(40)])
    )
    now = utcnow() + timedelta(seconds=1)
    claims = claim_due(store, "w", now, 100, 60)
    complete(store, COMPLETION_RULES, [(c, _result(c, "pass", now)) for c in claims], "w", now=now)
    with store.read() as s:
        due = sorted((c.next_run_at - now).total_seconds() for c in s.exec(select(Check)).all())  # type: ignore[operator]
    # not all at once: the per-check offset spreads them across the minute
    assert due[-1] - due[0] > 30


def test_claims_carry_decrypted_secret_options_and_a_clear_error_without_the_key(
    sqlite_url: str, monkeypatch: Any
) -> None:
    import asyncio

    from auditor.probe.http import HttpProber
    from auditor.schedule.execution import OptionsCache, execute_claim
    from auditor.store.secrets import encrypt_json, generate_key, split_options

    key = generate_key()
    monkeypatch.setenv("AUDITOR_SECRET_KEY", key)
    store = Database(sqlite_url)
    sync_config(store, _config([_svc("a", [{"kind": "health", "interval": "1m"}])]))
    plain, secret = split_options(
        {"path": "/h", "headers": {"Authorization": "Bearer s3cr3t-value"}}
    )
    assert secret, "the Authorization header is a secret option"
    with store.write() as s:
        chk = s.exec(select(Check)).one()
        chk.options, chk.secret_options = plain, encrypt_json(secret)
        s.add(chk)
    claim = claim_due(store, "w", utcnow() + timedelta(seconds=1), 10, 60)[0]
    assert claim.options["headers"]["Authorization"] == "Bearer s3cr3t-value"
    assert claim.secret_error is None
    release(store, [claim], "w")

    monkeypatch.setenv("AUDITOR_SECRET_KEY", generate_key())  # the key was lost or rotated away
    claim = claim_due(store, "w", utcnow() + timedelta(seconds=1), 10, 60)[0]
    assert claim.secret_error and "AUDITOR_SECRET_KEY" in claim.secret_error
    result = asyncio.run(
        execute_claim(
            claim, prober=HttpProber(), store=None, options_cache=OptionsCache(), environ={}
        )
    )
    assert str(result.status) == "error" and result.error_kind == "config"
    assert "s3cr3t" not in (result.summary + str(result.findings))


def test_an_error_after_an_outage_keeps_the_state_instead_of_resolving(db_url: str) -> None:
    store = Database(db_url)
    sync_config(store, _config([_svc("a", [{"kind": "health", "interval": "1m"}])]))
    t0 = utcnow()
    c = claim_due(store, "w", t0 + timedelta(seconds=1), 10, 60)[0]
    complete(store, COMPLETION_RULES, [(c, _result(c, "fail", t0))], "w", now=t0)
    later = t0 + timedelta(hours=2)  # the daemon was down; the first run back cannot measure
    c = claim_due(store, "w", later, 10, 60)[0]
    complete(store, COMPLETION_RULES, [(c, _result(c, "error", later))], "w", now=later)
    with store.read() as s:
        state = s.exec(select(CheckState)).one()
        transitions = s.exec(select(Transition)).all()
    assert state.state == "fail"
    assert [(t.previous_state, t.state) for t in transitions] == [("unknown", "fail")]


def test_a_result_that_lost_its_lease_does_not_move_the_schedule(db_url: str) -> None:
    store = Database(db_url)
    sync_config(store, _config([_svc("a", [{"kind": "health", "interval": "1m"}])]))
    now = utcnow() + timedelta(seconds=1)
    first = claim_due(store, "w1", now, 10, 60)[0]
    later = now + timedelta(seconds=80)
    second = claim_due(store, "w2", later, 10, 60)[
        0
    ]  # w1's lease expired; w2 runs the same due time
    complete(store, COMPLETION_RULES, [(second, _result(second, "pass", later))], "w2", now=later)
    with store.read() as s:
        after_w2 = s.exec(select(Check)).one().next_run_at
    complete(
        store,
        COMPLETION_RULES,
        [(first, _result(first, "pass", later))],
        "w1",
        now=later + timedelta(seconds=30),
    )
    with store.read() as s:
        chk = s.exec(select(Check)).one()
    assert chk.next_run_at == after_w2 and chk.lease_owner is None
    assert store.count(Run) == 1


def test_one_shot_sync_adds_and_updates_but_disables_nothing(db_url: str) -> None:
    store = Database(db_url)
    sync_config(
        store,
        _config(
            [_svc("a", [{"kind": "health"}, {"kind": "health", "name": "ready"}]), _svc("b", [])]
        ),
    )
    counts = sync_config(
        store, _config([_svc("a", [{"kind": "health", "path": "/x"}])]), disable_missing=False
    )
    assert (
        counts["services_disabled"] == 0
        and counts["checks_disabled"] == 0
        and counts["checks_updated"] == 1
    )
    with store.read() as s:
        assert all(x.enabled for x in s.exec(select(Service)).all())
        assert all(x.enabled for x in s.exec(select(Check)).all())


def test_claiming_ahead_leases_soon_due_checks_and_waits_out_a_lapsing_lease(db_url: str) -> None:
    store = Database(db_url)
    sync_config(
        store, _config([_svc("a", [{"kind": "health", "interval": "1m", "timeout": "5s"}])])
    )
    now = utcnow() + timedelta(seconds=1)
    (first,) = claim_due(store, "w1", now, 10, 1)
    complete(store, COMPLETION_RULES, [(first, _result(first, "pass", now))], "w1", now=now)
    with store.read() as s:
        due = s.exec(select(Check)).one().next_run_at
    assert due is not None
    # further away than the horizon: not yet
    assert claim_due(store, "w1", due - timedelta(seconds=3), 10, 1, horizon_s=2.0) == []
    early = due - timedelta(seconds=1.5)
    (ahead,) = claim_due(store, "w1", early, 10, 1, horizon_s=2.0)
    assert ahead.due_at == due and ahead.start_at == due and ahead.not_before is None
    # the lease covers the wait until the due time, the timeout and 10 s
    assert ahead.lease_until == due + timedelta(seconds=5 + 10)
    # another worker may claim it just before that lease lapses (its holder died), but its
    # run must not start until the lease has lapsed; the due time stays the grid point
    assert (
        claim_due(store, "w2", ahead.lease_until - timedelta(seconds=3), 10, 1, horizon_s=2) == []
    )
    (taken,) = claim_due(store, "w2", ahead.lease_until - timedelta(seconds=1), 10, 1, horizon_s=2)
    assert taken.due_at == due and taken.start_at == ahead.lease_until
    assert taken.lease_until >= ahead.lease_until + timedelta(seconds=5 + 10)
    # the dead holder's late result is stored once; the taker's duplicate is not
    assert len(complete(store, COMPLETION_RULES, [(taken, _result(taken, "pass"))], "w2")) == 1
    assert complete(store, COMPLETION_RULES, [(ahead, _result(ahead, "fail"))], "w1") == []
    assert store.count(Run) == 2


def test_a_batch_with_new_and_known_states_stores_every_run_once(db_url: str) -> None:
    """Batches mix checks with and without a latest-state row, and repeated due times."""
    store = Database(db_url)
    sync_config(store, _config([_svc(f"s{i}", [{"kind": "health"}]) for i in range(6)]))
    with store.write() as s:  # a state row lost (e.g. an older version): it is recreated
        victim = s.exec(select(CheckState)).first()
        assert victim is not None
        s.delete(victim)
    now = utcnow() + timedelta(seconds=1)
    claims = claim_due(store, "w", now, 10, 60)
    written = complete(
        store, COMPLETION_RULES, [(c, _result(c, "fail", now)) for c in claims], "w", now=now
    )
    assert len(written) == 6
    assert (
        complete(
            store,
            COMPLETION_RULES,
            [(c, _result(c, "pass", now)) for c in claims[:3]],
            "w",
            now=now,
        )
        == []
    )
    with store.read() as s:
        states = s.exec(select(CheckState)).all()
        checks = s.exec(select(Check)).all()
    assert len(states) == 6
    assert all(
        st.state == "fail" and st.runs_total == 1 and st.last_run_id in written for st in states
    )
    assert all(
        c.lease_owner is None and c.next_run_at is not None and c.next_run_at > now for c in checks
    )
    assert store.count(Transition) == 6
