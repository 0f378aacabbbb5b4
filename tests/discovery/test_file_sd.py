"""Prometheus file_sd: JSON and YAML target files in a real directory, changed and removed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select
from structlog.testing import capture_logs

from auditor.store.models import Check, Run
from tests.discovery.conftest import make_config, write_targets
from tests.support import json_route, local_server

LABELS = {"job": "name", "env": "environment", "team": "owner", "tier": "profile"}


def _source(tmp: Path) -> dict[str, Any]:
    return {
        "type": "file_sd",
        "path": [f"{tmp}/targets/*.json", f"{tmp}/targets/*.yml"],
        "labels": LABELS,
        "refresh": "1s",
        "checks": [{"kind": "health", "path": "/health"}],
    }


def _checks(driver: Any, service_id: str) -> dict[str, Check]:
    with driver.store.read() as s:
        rows = s.exec(select(Check).where(col(Check.service_id) == service_id)).all()
    return {c.name: c for c in rows}


def test_json_and_yaml_targets_become_services_and_follow_changes(
    tmp_path: Path, driver: Any
) -> None:
    targets = tmp_path / "targets"
    targets.mkdir()
    web = targets / "web.json"
    jobs = targets / "jobs.yml"
    write_targets(
        web,
        [
            {
                "targets": ["10.0.0.1:8443"],
                "labels": {
                    "job": "web-api",
                    "env": "production",
                    "team": "team-web",
                    "__scheme__": "https",
                },
            }
        ],
    )
    write_targets(
        jobs,
        [
            {
                "targets": ["10.0.0.2:9000"],
                "labels": {"job": "Worker-API", "env": "staging", "tier": "production"},
            }
        ],
        yaml=True,
    )
    d = driver(_source(tmp_path))
    counts = d.tick()
    assert counts is not None and counts["services_added"] == 2
    found = d.services()
    assert set(found) == {"web-api", "worker-api"}
    w = found["web-api"]
    assert (w.url, w.environment, w.owner, w.source, w.source_ref) == (
        "https://10.0.0.1:8443",
        "production",
        "team-web",
        "file_sd",
        str(web),
    )
    assert set(_checks(d, w.id)) == {"health"}  # the source's check template
    worker = found["worker-api"]
    assert worker.url == "http://10.0.0.2:9000" and worker.environment == "staging"
    # the tier label chose the production profile: the whole checklist, on the API tier
    checks = _checks(d, worker.id)
    assert {"tls", "headers", "redirect", "health", "ready", "exposure"} <= set(checks)
    assert {c.source for c in checks.values()} == {"file_sd"}

    assert d.tick(advance=0.1) is None  # nothing due, nothing written

    # changed: a new environment and a second target in the YAML file
    write_targets(
        jobs,
        [
            {"targets": ["10.0.0.2:9000"], "labels": {"job": "worker-api", "env": "canary"}},
            {"targets": ["10.0.0.3:9000"], "labels": {"job": "billing", "env": "production"}},
        ],
        yaml=True,
    )
    counts = d.tick()
    assert counts and counts["services_added"] == 1 and counts["services_updated"] == 1
    found = d.services()
    assert found["worker-api"].environment == "canary"
    assert found["worker-api"].id == worker.id  # the same row: history continues
    # no tier label any more: the profile's checks stop (disabled, kept), the template stays
    checks = _checks(d, worker.id)
    assert checks["health"].enabled and not checks["tls"].enabled
    assert "billing" in found


def test_removed_targets_are_archived_with_their_history(tmp_path: Path, driver: Any) -> None:
    with local_server({"/health": json_route(200, {"status": "pass"})}) as base:
        address = base.removeprefix("http://")
        targets = tmp_path / "targets"
        targets.mkdir()
        web = targets / "web.json"
        extra = targets / "extra.json"
        write_targets(
            web,
            [
                {"targets": [address], "labels": {"job": "web-api"}},
                {"targets": ["127.0.0.1:1"], "labels": {"job": "old-api"}},
            ],
        )
        write_targets(extra, [{"targets": ["127.0.0.1:2"], "labels": {"job": "extra-api"}}])
        d = driver(_source(tmp_path))
        d.tick()
        svc = d.services()["web-api"]
        health = _checks(d, svc.id)["health"]
        # a real run of the discovered check against the local service
        from auditor.audit import run_now

        ran = asyncio.run(run_now(d.discoverer.config, d.store, health.id))
        assert ran is not None and str(ran[0].status) == "pass"

        # removed from its file: archived, not deleted
        write_targets(web, [{"targets": ["127.0.0.1:1"], "labels": {"job": "old-api"}}])
        counts = d.tick()
        assert counts and counts["services_archived"] == 1
        assert "web-api" not in d.services()
        archived = d.services(include_archived=True)["web-api"]
        assert archived.deleted_at is not None and not archived.enabled
        assert all(c.deleted_at is not None for c in _checks(d, svc.id).values())
        with d.store.read() as s:
            runs = s.exec(select(func.count()).where(col(Run.check_id) == health.id)).one()
        assert runs == 1  # history kept

        # the whole file removed: its services are archived too
        extra.unlink()
        d.tick()
        assert set(d.services()) == {"old-api"}

        # listed again: the same row comes back, with its history
        write_targets(web, [{"targets": [address], "labels": {"job": "web-api"}}])
        d.tick()
        back = d.services()["web-api"]
        assert back.id == svc.id and back.enabled and back.deleted_at is None
        assert _checks(d, svc.id)["health"].deleted_at is None
        assert "old-api" not in d.services()


def test_bad_input_is_logged_naming_the_file_and_removes_nothing(
    tmp_path: Path, driver: Any
) -> None:
    targets = tmp_path / "targets"
    targets.mkdir()
    good = targets / "good.json"
    bad = targets / "bad.json"
    write_targets(good, [{"targets": ["10.0.0.1:80"], "labels": {"job": "good-api"}}])
    write_targets(
        bad,
        [
            {"targets": ["10.0.0.2:80"], "labels": {"job": "bad-api"}},
            {"targets": ["10.0.0.4:80"], "labels": {"job": "second-api"}},
        ],
    )
    d = driver(_source(tmp_path))
    d.tick()
    assert set(d.services()) == {"good-api", "bad-api", "second-api"}

    # malformed file (a half-written JSON): an error naming it; its services stay
    bad.write_text('[{"targets": ["10.0.0.2:80"], "labels": {"job": ')
    write_targets(
        good, [{"targets": ["10.0.0.1:80"], "labels": {"job": "good-api", "env": "staging"}}]
    )
    with capture_logs() as logs:
        d.tick()
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1 and str(bad) in errors[0]["error"]
    assert "not valid JSON" in errors[0]["error"]
    found = d.services()
    assert set(found) == {"good-api", "bad-api", "second-api"}  # nothing archived
    assert found["good-api"].environment == "staging"  # the other file still syncs

    # a target without the name label: named in the error; the rest of the file syncs, and
    # nothing this file listed before is archived (the unnamed target may be one of them)
    write_targets(
        bad,
        [
            {"targets": ["10.0.0.2:80"], "labels": {"env": "production"}},
            {"targets": ["10.0.0.3:80"], "labels": {"job": "new-api"}},
        ],
    )
    with capture_logs() as logs:
        d.tick()
    errors = [e["error"] for e in logs if e["log_level"] == "error"]
    assert errors == [
        f"{bad}: group 0, target '10.0.0.2:80': no 'job' label to name the service "
        '(map one with labels = { <label> = "name" })'
    ]
    assert set(d.services()) == {"good-api", "bad-api", "second-api", "new-api"}

    # an invalid service name and a check option only the config file may set
    write_targets(bad, [{"targets": ["10.0.0.2:80"], "labels": {"job": "Bad Name!"}}])
    with capture_logs() as logs:
        d.tick()
    errors = [e["error"] for e in logs if e["log_level"] == "error"]
    assert errors and str(bad) in errors[0] and "service.name" in errors[0]
    assert {"bad-api", "new-api"} <= set(d.services())

    # fixed: the file is complete again, so what it no longer lists is archived
    write_targets(bad, [{"targets": ["10.0.0.2:80"], "labels": {"job": "bad-api"}}])
    d.tick()
    assert set(d.services()) == {"good-api", "bad-api"}


def test_a_name_taken_by_the_config_file_is_left_alone(tmp_path: Path, driver: Any) -> None:
    from auditor.config.sync import sync_config

    targets = tmp_path / "targets"
    targets.mkdir()
    write_targets(
        targets / "a.json",
        [
            {"targets": ["10.0.0.9:80"], "labels": {"job": "payments"}},
            {"targets": ["10.0.0.8:80"], "labels": {"job": "ledger"}},
        ],
    )
    services = [{"name": "payments", "url": "https://payments.example.com"}]
    d = driver(_source(tmp_path), services=services)
    sync_config(d.store, d.discoverer.config)
    with capture_logs() as logs:
        d.tick()
    conflicts = [e for e in logs if e.get("event") == "discovery_conflict"]
    assert conflicts and "the config file" in conflicts[0]["error"]
    found = d.services()
    assert found["payments"].source == "config"
    assert found["payments"].url == "https://payments.example.com"
    assert found["ledger"].source == "file_sd"


def test_config_check_names_bad_discovery_keys() -> None:
    import pytest

    from auditor.config import ConfigError

    with pytest.raises(ConfigError) as exc:
        make_config(
            {"type": "file_sd"},
            {"type": "http_sd", "url": "ftp://x"},
            {"type": "file_sd", "path": "/x", "labels": {"a": "name", "b": "name"}},
            {"type": "file_sd", "path": "/x", "checks": [{"kind": "tls", "ca_file": "/ca"}]},
            {"type": "consul", "path": "/x"},
        )
    problems = exc.value.problems
    assert "discovery[0].path: is required for a file_sd source (files, globs or dirs)" in problems
    assert any(p.startswith("discovery[1].url: must be an absolute") for p in problems)
    assert "discovery[2].labels: more than one label maps to 'name'" in problems
    assert any(p.startswith("discovery[3].checks[0].ca_file: not allowed") for p in problems)
    assert any(p.startswith("discovery[4].type: must be one of") for p in problems)


def test_hostile_targets_cannot_smuggle_a_host_or_credentials(tmp_path: Path, driver: Any) -> None:
    targets = tmp_path / "targets"
    targets.mkdir()
    write_targets(
        targets / "t.json",
        [
            {"targets": ["user:pw@evil.example:80", "a/b", "good:80"], "labels": {"job": "x"}},
            {"targets": ["h:1"], "labels": {"job": "y", "__scheme__": "file"}},
        ],
    )
    d = driver(_source(tmp_path))
    with capture_logs() as logs:
        d.tick()
    errors = [e["error"] for e in logs if e["log_level"] == "error"]
    assert sum("a target must be host or host:port" in e for e in errors) == 2
    assert any("__scheme__ must be http or https" in e for e in errors)
    assert {s.url for s in d.services().values()} == {"http://good:80"}


def test_a_named_file_that_goes_away_is_warned_about_once(tmp_path: Path, driver: Any) -> None:
    one = tmp_path / "one.json"
    write_targets(one, [{"targets": ["a:1"], "labels": {"job": "a"}}])
    d = driver({"type": "file_sd", "path": str(one), "refresh": "1s"})
    d.tick()
    one.unlink()
    with capture_logs() as logs:
        d.tick()
        d.tick()
    warned = [e for e in logs if e["event"] == "discovery_file_missing"]
    assert len(warned) == 1 and warned[0]["file"] == str(one)
    assert d.services() == {}  # its service is archived


def test_a_source_removed_from_the_config_archives_its_services(
    tmp_path: Path, driver: Any
) -> None:
    one = tmp_path / "one.json"
    write_targets(one, [{"targets": ["a:1"], "labels": {"job": "a"}}])
    first = driver({"type": "file_sd", "path": str(one)})
    first.tick()
    assert set(first.services()) == {"a"}
    without = driver()  # the daemon restarted after its [[discovery]] table was deleted
    counts = without.tick()
    assert counts and counts["services_archived"] == 1
    assert without.services() == {} and "a" in without.services(include_archived=True)


def test_a_row_the_database_refuses_does_not_stop_the_others(tmp_path: Path, driver: Any) -> None:
    """A database-level refusal (here a trigger) skips that service, logged with its file."""
    import sqlalchemy as sa

    targets = tmp_path / "targets"
    targets.mkdir()
    bad = targets / "a.json"
    write_targets(
        bad,
        [
            {"targets": ["p:1"], "labels": {"job": "poison"}},
            {"targets": ["q:1"], "labels": {"job": "fine"}},
        ],
    )
    d = driver(_source(tmp_path))
    with d.store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                sa.text(
                    "CREATE TRIGGER no_poison BEFORE INSERT ON service WHEN NEW.name = 'poison' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE FUNCTION no_poison() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.name = 'poison' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER no_poison BEFORE INSERT ON service "
                    "FOR EACH ROW EXECUTE FUNCTION no_poison()"
                )
            )
    with capture_logs() as logs:
        d.tick()
    errors = [e["error"] for e in logs if e["log_level"] == "error"]
    assert errors and errors[0].startswith(f"{bad}: service 'poison' could not be stored")
    assert set(d.services()) == {"fine"}
