"""The README's "Quick start: your own service", followed verbatim (issue #23).

The code blocks are read from the README itself, so this test breaks when the README drifts
from what works. What the test changes, and only that:
- the config's placeholder URL ``https://my-api.example.com`` becomes a local HTTP service
  on 127.0.0.1 (tests never touch outside hosts);
- ``auditor`` is run as ``python -m auditor`` (the same entry point, from this checkout);
- the address: ``AUDITOR_LISTEN`` in the environment moves ``serve`` off 8080 to a free port;
- the password prompt of ``user create`` is answered through standard input.
The ``docker run`` block is not run (no Docker daemon in CI); its paths are checked against
the Dockerfile.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import httpx
import pytest

from tests.core.served import clean_env, cli, free_port, served, sign_in
from tests.support import json_route, local_server

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Quick start: your own service"
PLACEHOLDER = "https://my-api.example.com"
PASSWORD = "quick start password"

pytestmark = pytest.mark.slow


def _blocks() -> list[tuple[str, str]]:
    """(language, body) of every fenced block in the quick-start section."""
    readme = (ROOT / "README.md").read_text()
    assert SECTION in readme, f"the README has no {SECTION!r} section"
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S)


def _commands(body: str) -> list[list[str]]:
    """The shell lines of a block (continuations joined), split as the shell would."""
    return [shlex.split(line) for line in body.replace("\\\n", " ").splitlines() if line.strip()]


def test_the_readme_quick_start_works_as_written(tmp_path: Path) -> None:
    blocks = _blocks()
    assert [lang for lang, _ in blocks] == ["toml", "sh", "sh"]
    config, steps, docker = (body for _, body in blocks)
    assert len(config.strip().splitlines()) == 4, "the quick start promises a four-line config"
    assert PLACEHOLDER in config
    create, serve = _commands(steps)
    assert create[:3] == ["auditor", "user", "create"] and serve[:2] == ["auditor", "serve"]

    with local_server({"/health": json_route(200, {"status": "pass"})}) as target:
        (tmp_path / "config.toml").write_text(config.replace(PLACEHOLDER, target))
        port = free_port()
        env = clean_env(AUDITOR_LISTEN=f"127.0.0.1:{port}")
        made = cli(create[1:], tmp_path, env, stdin=f"{PASSWORD}\n{PASSWORD}\n")
        assert made.returncode == 0, made.stdout + made.stderr
        assert "created user admin (admin)" in made.stdout
        base = f"http://127.0.0.1:{port}"
        with served(serve[1:], tmp_path, env, base, tmp_path / "serve.log"):
            with httpx.Client(base_url=base) as browser:
                assert browser.get("/").status_code == 302  # sign in first
                assert sign_in(browser, "admin", PASSWORD).status_code == 302
                overview = browser.get("/")
                assert overview.status_code == 200
                assert 'href="/services/my-api"' in overview.text
                page = browser.get("/services/my-api")
                assert page.status_code == 200 and target in page.text

    run, exec_ = _commands(docker)
    assert run[:2] == ["docker", "run"] and exec_[:3] == ["docker", "exec", "-it"]
    mounts = [run[i + 1] for i, arg in enumerate(run) if arg == "-v"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert any(m.endswith(":/var/lib/auditor") for m in mounts)
    assert 'VOLUME ["/var/lib/auditor"]' in dockerfile
    assert "sqlite:////var/lib/auditor/" in dockerfile  # the database is in that volume
    assert any(m.endswith(":/etc/auditor/config.toml:ro") for m in mounts)
    assert "WORKDIR /etc/auditor" in dockerfile  # where serve looks for config.toml
    assert exec_[4:] == create[:1] + [a for a in create[1:] if a not in ("--config", "config.toml")]
