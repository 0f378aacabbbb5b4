"""Bounded everything (issue #17 item 4): every number has a range, bodies are bounded, and
SIGTERM always ends the daemon within its drain timeout.

Attacks are tables of cases, made the way an attacker would: a config file run through the
real loader and ``auditor config check``; the REST API and the dashboard forms (login and
CSRF included) of a real ``auditor serve`` over HTTP with an operator token / account; and
SIGTERM sent to a real ``serve``/``worker`` process while a probe hangs, on SQLite and
PostgreSQL. Each case is refused with the field named (or is harmless); the legitimate
values at the bounds (1s, 7d, 1 MiB) are accepted.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from auditor.config import ConfigError, load_config
from tests.hardening.daemon import start, wait_for, write_config

PASSWORD = "bounds-operator-pw-1"
MiB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(config: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=str(config.parent),
        timeout=60,
    )


class HungServer:
    """Accepts connections and never answers: a probe to it hangs until cancelled."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, never read, never answered

    def close(self) -> None:
        for conn in self.accepted:
            conn.close()
        self.sock.close()


# -- 1. the config file ------------------------------------------------------------------------

CHECK = "services[0].checks[0]"

CONFIG_CASES = [
    pytest.param({"interval": 1e308}, "interval", "must be at most 7d", id="interval-1e308"),
    pytest.param({"interval": 0}, "interval", "must be at least 1s", id="interval-zero"),
    pytest.param({"interval": -1}, "interval", "must be finite and >= 0", id="interval-negative"),
    pytest.param({"interval": "nan"}, "interval", "must be finite", id="interval-nan"),
    pytest.param({"interval": "inf"}, "interval", "must be finite", id="interval-inf"),
    pytest.param({"interval": "8d"}, "interval", "must be at most 7d", id="interval-8d"),
    pytest.param({"interval": "0.5s"}, "interval", "must be at least 1s", id="interval-500ms"),
    pytest.param(
        {"interval": "1m", "timeout": "2m"}, "timeout", "must not exceed the interval",
        id="timeout-over-interval",
    ),
    pytest.param({"timeout": 0}, "timeout", "must be greater than 0s", id="timeout-zero"),
    pytest.param(
        {"interval": "1m", "jitter": "2m"}, "jitter", "must not exceed the interval",
        id="jitter-over-interval",
    ),
    pytest.param({"body_cap": "2MiB"}, "body_cap", "must be at most 1MiB", id="body-cap-2MiB"),
    pytest.param({"body_cap": 0}, "body_cap", "greater than zero", id="body-cap-zero"),
    pytest.param({"failure_threshold": 101}, "failure_threshold", "at most 100", id="threshold-101"),
    pytest.param({"success_threshold": 101}, "success_threshold", "at most 100", id="success-101"),
    pytest.param(
        {"consecutive_error_limit": 10**6}, "consecutive_error_limit", "at most 1000",
        id="error-limit-1e6",
    ),
    pytest.param({"max_latency": "8d"}, "max_latency", "must be at most 7d", id="latency-8d"),
    pytest.param({"max_redirects": 51}, "max_redirects", "at most 50", id="redirects-51"),
    pytest.param(
        {"schedule": "0 0 1 1 *"}, "schedule", "must fire at least every 7d", id="cron-yearly"
    ),
]  # fmt: skip


def _without_line(problem: str) -> str:
    """``/tmp/…/config.toml:12: services[0]…`` -> ``services[0]…`` (the line is tested in
    tests/core/test_config_validation.py)."""
    return re.sub(r"^\S+\.toml:\d+: ", "", problem)


def _config_with(
    tmp_path: Path, check: dict[str, Any], auditor: dict[str, Any] | None = None
) -> Path:
    return write_config(
        tmp_path / "config.toml",
        {"database_url": f"sqlite:///{tmp_path / 'a.db'}", **(auditor or {})},
        [{"name": "app", "url": "https://app.example", "checks": [{"kind": "health", **check}]}],
    )


@pytest.mark.parametrize(("check", "key", "message"), CONFIG_CASES)
def test_config_file_refuses_out_of_range_numbers(
    tmp_path: Path, check: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(_config_with(tmp_path, check)), environ={})
    problems = [_without_line(p) for p in info.value.problems]
    mine = [p for p in problems if p.startswith(f"{CHECK}.{key}: ")]
    assert mine and message in mine[0], info.value.problems


@pytest.mark.parametrize(
    ("auditor", "key", "message"),
    [
        pytest.param({"default_interval": "30d"}, "default_interval", "at most 7d", id="default-interval-30d"),
        pytest.param({"default_timeout": 1e308}, "default_timeout", "at most 7d", id="default-timeout-1e308"),
        pytest.param({"lease": "2d"}, "lease", "at most 1d", id="lease-2d"),
        pytest.param({"retention": "1m"}, "retention", "at least 1h", id="retention-1m"),
        pytest.param({"drain_timeout": "2h"}, "drain_timeout", "at most 1h", id="drain-2h"),
        pytest.param({"drain_timeout": 0}, "drain_timeout", "at least 1s", id="drain-zero"),
        pytest.param({"concurrency": 10**9}, "concurrency", "at most 10000", id="concurrency-1e9"),
    ],
)  # fmt: skip
def test_config_file_refuses_out_of_range_settings(
    tmp_path: Path, auditor: dict[str, Any], key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(str(_config_with(tmp_path, {}, auditor)), environ={})
    problems = [_without_line(p) for p in info.value.problems]
    assert any(p.startswith(f"auditor.{key}: ") and message in p for p in problems), problems


def test_the_cli_names_the_key_path_of_a_huge_interval(tmp_path: Path) -> None:
    proc = _cli(_config_with(tmp_path, {"interval": 1e308}), "config", "check")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{CHECK}.interval: must be at most 7d" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "check",
    [
        pytest.param({"interval": "1s", "timeout": "1s"}, id="interval-1s"),
        pytest.param({"interval": "7d", "jitter": "7d"}, id="interval-7d"),
        pytest.param({"interval": 604800, "body_cap": "1MiB"}, id="body-cap-1MiB"),
        pytest.param({"failure_threshold": 100, "success_threshold": 100}, id="thresholds-100"),
        pytest.param({"schedule": "0 3 * * 1"}, id="weekly-cron"),
    ],
)
def test_config_file_accepts_values_at_the_bounds(tmp_path: Path, check: dict[str, Any]) -> None:
    config = load_config(str(_config_with(tmp_path, check)), environ={})
    assert config.services[0].checks[0].kind == "health"


# -- a real daemon for the API and dashboard cases ---------------------------------------------


@dataclass
class Daemon:
    base: str
    operator: dict[str, str]
    service_id: str
    log: Path

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.operator, **kw.pop("headers", {})}
        return httpx.request(
            method, self.base + "/api/v1" + path, headers=headers, timeout=30, **kw
        )


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("bounds")
    port = _free_port()
    config = write_config(
        tmp / "config.toml",
        {"database_url": f"sqlite:///{tmp / 'auditor.db'}", "listen": f"127.0.0.1:{port}"},
        [],
    )
    token = _cli(config, "token", "create", "--role", "operator", "--name", "op")
    assert token.returncode == 0, token.stderr
    user = _cli(
        config, "user", "create", "--username", "oper", "--role", "operator", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert user.returncode == 0, user.stderr
    log = tmp / "daemon.log"
    proc = start("serve", config, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: httpx.get(base + "/healthz").status_code == 200, 30), (
            log.read_text()[-2000:]
        )
        operator = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}
        r = httpx.post(
            base + "/api/v1/services",
            json={"name": "app", "url": "https://app.example"},
            headers=operator,
        )
        assert r.status_code == 201, r.text
        yield Daemon(base, operator, r.json()["data"]["id"], log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _refused(r: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text[:500])
    body = r.json()
    assert body["success"] is False and body["error"]["code"], body
    if field is not None:
        fields = [d["field"] for d in body["error"]["details"]]
        assert field in fields, body
    return body  # type: ignore[no-any-return]


# -- 2. the REST API ---------------------------------------------------------------------------

API_CASES = [
    pytest.param({"interval": 1e308}, "interval", "must be at most 7d", id="interval-1e308"),
    pytest.param({"interval": 0}, "interval", "must be at least 1s", id="interval-zero"),
    pytest.param({"interval": -1}, "interval", "must be finite", id="interval-negative"),
    pytest.param({"interval": "nan"}, "interval", "must be finite", id="interval-nan-string"),
    pytest.param({"interval": "8d"}, "interval", "must be at most 7d", id="interval-8d"),
    pytest.param(
        {"interval": "1m", "timeout": "2m"}, "timeout", "must not exceed", id="timeout-over-interval"
    ),
    pytest.param({"interval": "1m", "jitter": 3600}, "jitter", "must not exceed", id="jitter-1h"),
    pytest.param(
        {"options": {"body_cap": 2 * MiB}}, "options.body_cap", "at most 1MiB", id="body-cap-2MiB"
    ),
    pytest.param({"failure_threshold": 101}, "failure_threshold", None, id="threshold-101"),
    pytest.param({"success_threshold": 101}, "success_threshold", None, id="success-101"),
    pytest.param(
        {"options": {"max_latency": 1e308}}, "options.max_latency", "at most 7d", id="latency-1e308"
    ),
    pytest.param(
        {"options": {"headers": {f"X-H{i}": "v" for i in range(51)}}}, "options.headers", None,
        id="headers-51",
    ),
    pytest.param(
        {"kind": "tls", "options": {"warn_days": 10**6}}, "options.warn_days", "at most 3650",
        id="tls-warn-days-1e6",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "field", "message"), API_CASES)
def test_api_refuses_out_of_range_numbers(
    daemon: Daemon, fields: dict[str, Any], field: str, message: str | None
) -> None:
    body = {"kind": "health", **fields}
    r = daemon.api("POST", f"/services/{daemon.service_id}/checks", json=body)
    err = _refused(r, 422, field)
    if message:
        detail = next(d for d in err["error"]["details"] if d["field"] == field)
        assert message in detail["message"], err


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"interval": 1e308}, "interval", id="patch-interval-1e308"),
        pytest.param({"timeout": "30d"}, "timeout", id="patch-timeout-30d"),
        pytest.param({"options": {"body_cap": "2MiB"}}, "options.body_cap", id="patch-body-cap"),
    ],
)
def test_api_refuses_out_of_range_numbers_on_update(
    daemon: Daemon, change: dict[str, Any], field: str
) -> None:
    name = "patch-" + re.sub(r"[^a-z0-9]+", "-", field)
    made = daemon.api(
        "POST", f"/services/{daemon.service_id}/checks", json={"kind": "health", "name": name}
    )
    assert made.status_code == 201, made.text
    check = made.json()["data"]
    r = daemon.api("PATCH", f"/services/{daemon.service_id}/checks/{check['id']}", json=change)
    _refused(r, 422, field)
    again = daemon.api("GET", f"/services/{daemon.service_id}/checks/{check['id']}").json()["data"]
    assert again["interval"] == check["interval"] and again["timeout"] == check["timeout"]


@pytest.mark.parametrize(
    ("fields", "stored"),
    [
        pytest.param({"interval": "1s", "timeout": "1s"}, {"interval": 1.0}, id="interval-1s"),
        pytest.param({"interval": "7d", "jitter": "7d"}, {"interval": 604800.0}, id="interval-7d"),
        pytest.param(
            {"interval": 604800, "options": {"body_cap": "1MiB"}},
            {"options": {"body_cap": "1MiB"}},
            id="body-cap-1MiB",
        ),
        pytest.param({"failure_threshold": 100}, {"failure_threshold": 100}, id="threshold-100"),
    ],
)
def test_api_accepts_values_at_the_bounds(
    daemon: Daemon, fields: dict[str, Any], stored: dict[str, Any]
) -> None:
    name = "ok-" + re.sub(r"[^a-z0-9]+", "-", json.dumps(fields).lower()).strip("-")[:50]
    r = daemon.api(
        "POST",
        f"/services/{daemon.service_id}/checks",
        json={"kind": "health", "name": name, **fields},
    )
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    for key, value in stored.items():
        assert data[key] == value, data


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("page=0", "page", id="page-zero"),
        pytest.param("page=-1", "page", id="page-negative"),
        pytest.param("page=1e3", "page", id="page-float"),
        pytest.param(f"page={10**12}", "page", id="page-1e12"),
        pytest.param(f"page={10**60}", "page", id="page-60-digits"),
        pytest.param("limit=0", "limit", id="limit-zero"),
        pytest.param("limit=abc", "limit", id="limit-text"),
    ],
)
def test_api_refuses_page_and_limit_abuse(daemon: Daemon, query: str, field: str) -> None:
    _refused(daemon.api("GET", f"/services?{query}"), 400, field)


def test_a_huge_limit_is_capped_and_the_last_page_is_empty(daemon: Daemon) -> None:
    r = daemon.api("GET", f"/services?limit={10**30}")
    assert r.status_code == 200 and r.json()["pagination"]["limit"] == 200, r.text
    r = daemon.api("GET", "/services?page=1000000")
    assert r.status_code == 200 and r.json()["data"] == [], r.text


# -- 3. JSON request bodies --------------------------------------------------------------------

JSON = {"Content-Type": "application/json"}
SERVICE = json.dumps({"name": "svc-x", "url": "https://x.example"})

BODY_CASES = [
    pytest.param(b"[" * 10_000 + b"]" * 10_000, JSON, 400, "nested too deeply", id="array-10000-deep"),
    pytest.param(
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000, JSON, 400, "nested too deeply", id="object-10000-deep"
    ),
    pytest.param(
        b'{"name": "' + b"[" * 5000 + b'"}', JSON, 422, None, id="brackets-inside-a-string-are-not-depth"
    ),
    pytest.param(
        b'{"name": "svc-x", "url": "https://x.example", "tags": ' + b"[" * 33 + b"]" * 33 + b"}",
        JSON, 400, "nested too deeply", id="33-deep",
    ),
    pytest.param(
        b'{"name": "' + b"x" * (2 * MiB) + b'"}', JSON, 413, None, id="json-2MiB"
    ),
    pytest.param(
        b'{"name": "' + b"x" * 1_200_000 + b'"}', JSON, 413, "too large", id="json-1.2MB"
    ),
    pytest.param(SERVICE.encode(), {"Content-Type": "text/plain"}, 415, "JSON", id="text-plain-json"),
    pytest.param(
        b"name=svc-x&url=https%3A%2F%2Fx.example",
        {"Content-Type": "application/x-www-form-urlencoded"}, 415, "JSON", id="form-encoded",
    ),
    pytest.param(
        SERVICE.encode(), {"Content-Type": "multipart/form-data; boundary=x"}, 415, "JSON",
        id="multipart",
    ),
    pytest.param(SERVICE.encode(), {}, 415, "JSON", id="no-content-type"),
    pytest.param(
        SERVICE.encode(), {"Content-Type": "application/json; charset=latin-1"}, 415, "JSON",
        id="json-latin1",
    ),
    pytest.param(
        b'{"name": "svc-x", "url": "https://x.example", "tags": [NaN]}', JSON, 400,
        "not valid JSON", id="nan-literal",
    ),
    pytest.param(
        b'{"kind": "health", "interval": Infinity}', JSON, 400, "not valid JSON", id="infinity",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("body", "headers", "status", "message"), BODY_CASES)
def test_hostile_json_bodies_are_client_errors(
    daemon: Daemon, body: bytes, headers: dict[str, str], status: int, message: str | None
) -> None:
    r = daemon.api("POST", "/services", content=body, headers=headers)
    assert r.status_code == status, (r.status_code, r.text[:300])
    if r.headers.get("content-type", "").startswith("application/json"):
        err = r.json()
        assert err["success"] is False, err
        if message:
            assert message in err["error"]["message"], err
    else:  # the server itself refused a body over twice the app's limit, before buffering it
        assert status == 413 and len(body) > 2_000_000
    assert "RecursionError" not in daemon.log.read_text()


def test_a_415_names_the_content_type(daemon: Daemon) -> None:
    r = daemon.api(
        "POST", "/services", content=SERVICE.encode(), headers={"Content-Type": "text/plain"}
    )
    err = _refused(r, 415, "Content-Type")
    assert "text/plain" in err["error"]["details"][0]["message"]


@pytest.mark.parametrize(
    ("content_type", "name"),
    [
        ("application/json", "ct-plain"),
        ("application/json; charset=utf-8", "ct-utf8"),
        ("Application/JSON", "ct-upper"),
    ],
)
def test_json_bodies_are_still_accepted(daemon: Daemon, content_type: str, name: str) -> None:
    body = json.dumps({"name": name, "url": "https://x.example"}).encode()
    r = daemon.api("POST", "/services", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 201, r.text


# -- 4. the dashboard forms --------------------------------------------------------------------


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


@pytest.fixture(scope="module")
def browser(daemon: Daemon) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=daemon.base, timeout=30) as client:
        token = _csrf(client.get("/login").text)
        r = client.post(
            "/login", data={"username": "oper", "password": PASSWORD, "csrf_token": token}
        )
        assert r.status_code == 302, r.text[:500]
        yield client


FORM_CASES = [
    pytest.param({"interval": "1e308"}, "must be at most 7d", id="interval-1e308"),
    pytest.param({"interval": "8d"}, "must be at most 7d", id="interval-8d"),
    pytest.param({"interval": "0"}, "must be at least 1s", id="interval-zero"),
    pytest.param({"interval": "nan"}, "must be finite", id="interval-nan"),
    pytest.param({"interval": "1m", "timeout": "5m"}, "must not exceed the interval", id="timeout-over-interval"),
    pytest.param({"options": 'body_cap = "2MiB"'}, "must be at most 1MiB", id="body-cap-2MiB"),
    pytest.param({"failure_threshold": "101"}, "at most 100", id="threshold-101"),
]  # fmt: skip


def _post_check_form(browser: httpx.Client, fields: dict[str, str]) -> httpx.Response:
    page = browser.get("/manage/services/app/checks/new")
    assert page.status_code == 200, page.text[:300]
    form = {"csrf_token": _csrf(page.text), "kind": "health", "enabled": "on", **fields}
    return browser.post("/manage/services/app/checks/new", data=form)


@pytest.mark.parametrize(("fields", "message"), FORM_CASES)
def test_dashboard_form_refuses_out_of_range_numbers(
    browser: httpx.Client, fields: dict[str, str], message: str
) -> None:
    r = _post_check_form(browser, fields)
    assert r.status_code == 400, r.text[:500]
    assert message in r.text


def test_dashboard_form_accepts_values_at_the_bounds(browser: httpx.Client) -> None:
    fields = {"name": "form-7d", "interval": "7d", "options": 'body_cap = "1MiB"'}
    r = _post_check_form(browser, fields)
    assert r.status_code == 302, r.text[:800]


# -- 5. SIGTERM while a probe hangs -------------------------------------------------------------

DRAIN_S = 5.0
SLACK_S = 2.5


def _lease(db_url: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.text(
                        "SELECT c.lease_owner, c.next_run_at, "
                        "(SELECT count(*) FROM run r WHERE r.check_id = c.id) "
                        "FROM check_def c WHERE c.name = 'hangs'"
                    )
                )
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("command", "backend"),
    [
        pytest.param("serve", "sqlite", id="serve-sqlite"),
        pytest.param("worker", "sqlite", id="worker-sqlite"),
        pytest.param("serve", "postgres", id="serve-postgres"),
    ],
)
def test_sigterm_exits_within_the_drain_timeout_while_a_probe_hangs(
    request: pytest.FixtureRequest, tmp_path: Path, command: str, backend: str
) -> None:
    db_url = (
        f"sqlite:///{tmp_path / 'auditor.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    hung = HungServer()
    port = _free_port()
    config = write_config(
        tmp_path / "config.toml",
        {"database_url": db_url, "listen": f"127.0.0.1:{port}", "drain_timeout": f"{DRAIN_S:g}s"},
        [
            {
                "name": "slow",
                "url": f"http://127.0.0.1:{hung.port}",
                "checks": [{"kind": "health", "name": "hangs", "interval": "5m", "timeout": "2m"}],
            }
        ],
    )
    log = tmp_path / "daemon.log"
    proc = start(command, config, log=log)
    try:
        assert wait_for(lambda: len(hung.accepted) >= 1, 60), log.read_text()[-3000:]
        time.sleep(0.3)  # the probe is now waiting for an answer that never comes
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(DRAIN_S + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("SIGTERM did not end the process:\n" + log.read_text()[-3000:])
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
        hung.close()
    text = log.read_text()
    assert took <= DRAIN_S + SLACK_S, (took, text[-3000:])
    assert code == 0, (code, text[-3000:])
    assert "drain_cancelled_runs" in text, text[-3000:]
    # nothing lost: the hung run was not half-recorded, its claim was given back and the
    # check is due at once, so the next worker (or this one restarted) runs it
    ((owner, next_run_at, runs),) = _lease(db_url)
    assert owner is None and runs == 0
    due = (
        next_run_at
        if isinstance(next_run_at, datetime)
        else datetime.fromisoformat(str(next_run_at))
    )
    assert due.replace(tzinfo=due.tzinfo or UTC) <= datetime.now(UTC)


def test_the_environment_can_set_the_drain_timeout(tmp_path: Path) -> None:
    config = load_config(str(_config_with(tmp_path, {})), environ={"AUDITOR_DRAIN_TIMEOUT": "10s"})
    assert config.auditor.drain_timeout == 10.0
    with pytest.raises(ConfigError) as info:
        load_config(str(_config_with(tmp_path, {})), environ={"AUDITOR_DRAIN_TIMEOUT": "1e308"})
    assert any(p.startswith("auditor.drain_timeout") for p in info.value.problems)
