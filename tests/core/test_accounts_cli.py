"""``auditor token list|revoke`` and ``auditor user list|reset-password`` (issue #23): real
``auditor`` subprocesses against the database a served ``auditor web`` reads, so what the
CLI does is checked where it matters: the API and the dashboard sign-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.core.served import clean_env, cli, free_port, served, sign_in

pytestmark = pytest.mark.slow  # served daemons

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple gun tablecloth"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = clean_env(
        AUDITOR_DATABASE_URL=f"sqlite:///{tmp_path / 'auditor.db'}",
        AUDITOR_WEB_PROCESSES="1",
    )
    base = f"http://127.0.0.1:{free_port()}"
    listen = base.removeprefix("http://")
    with served(["web", "--listen", listen], tmp_path, env, base, tmp_path / "web.log"):
        yield base, env


def test_a_revoked_token_is_refused_by_the_api(
    tmp_path: Path, site: tuple[str, dict[str, str]]
) -> None:
    base, env = site
    made = cli(["token", "create", "--role", "viewer", "--name", "ci"], tmp_path, env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    other = cli(["token", "create", "--role", "admin", "--name", "ops"], tmp_path, env)
    assert other.returncode == 0, other.stderr
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{base}/api/v1/services", headers=headers).status_code == 200

    listed = cli(["token", "list", "--format", "json"], tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    rows = {t["name"]: t for t in json.loads(listed.stdout)}
    assert set(rows) == {"ci", "ops"}
    assert rows["ci"]["state"] == "active" and rows["ci"]["role"] == "viewer"
    assert token.startswith(rows["ci"]["prefix"])
    assert token not in listed.stdout  # the secret is never shown again
    text = cli(["token", "list"], tmp_path, env)
    assert rows["ci"]["id"] in text.stdout and "active" in text.stdout

    revoked = cli(["token", "revoke", rows["ci"]["id"]], tmp_path, env)
    assert revoked.returncode == 0, revoked.stderr
    assert f"revoked token {rows['ci']['id']}" in revoked.stdout
    answer = httpx.get(f"{base}/api/v1/services", headers=headers)
    assert answer.status_code == 401, answer.text
    again = cli(["token", "list", "--format", "json"], tmp_path, env)
    states = {t["name"]: t["state"] for t in json.loads(again.stdout)}
    assert states == {"ci": "revoked", "ops": "active"}
    twice = cli(["token", "revoke", rows["ci"]["id"]], tmp_path, env)
    assert twice.returncode == 0 and "already revoked" in twice.stdout

    unknown = cli(["token", "revoke", "00000000-0000-0000-0000-000000000000"], tmp_path, env)
    assert unknown.returncode == 2
    assert "no token with id" in unknown.stderr and "auditor token list" in unknown.stderr


def test_reset_password_signs_the_user_out_everywhere(
    tmp_path: Path, site: tuple[str, dict[str, str]]
) -> None:
    base, env = site
    for name, role in (("alice", "admin"), ("bob", "viewer")):
        made = cli(
            ["user", "create", "--username", name, "--role", role, "--password-stdin"],
            tmp_path,
            env,
            stdin=PASSWORD + "\n",
        )
        assert made.returncode == 0, made.stderr
    listed = cli(["user", "list"], tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:2] == ["USERNAME", "ROLE"]
    assert [line.split()[:2] for line in lines[1:]] == [["alice", "admin"], ["bob", "viewer"]]
    assert PASSWORD not in listed.stdout and "argon2" not in listed.stdout

    with httpx.Client(base_url=base) as browser, httpx.Client(base_url=base) as laptop:
        for client in (browser, laptop):
            assert sign_in(client, "alice", PASSWORD).status_code == 302
            assert client.get("/manage/").status_code == 200
        reset = cli(
            ["user", "reset-password", "--username", "alice", "--password-stdin"],
            tmp_path,
            env,
            stdin=NEW_PASSWORD + "\n",
        )
        assert reset.returncode == 0, reset.stderr
        assert "2 dashboard session(s) signed out" in reset.stdout
        for client in (browser, laptop):
            after = client.get("/manage/")
            assert after.status_code == 302 and "/login" in after.headers["location"]
        assert sign_in(browser, "alice", PASSWORD).status_code == 401
        assert sign_in(browser, "alice", NEW_PASSWORD).status_code == 302

    short = cli(
        ["user", "reset-password", "--username", "bob", "--password-stdin"],
        tmp_path,
        env,
        stdin="short\n",
    )
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    nobody = cli(
        ["user", "reset-password", "--username", "carol", "--password-stdin"],
        tmp_path,
        env,
        stdin=NEW_PASSWORD + "\n",
    )
    assert nobody.returncode == 2 and "no user named 'carol'" in nobody.stderr
