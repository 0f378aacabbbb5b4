"""A real Go service (built here with the Debian ``golang-go`` toolchain) importing
net/http/pprof: on the public mux, and kept off it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realapps.audit import codes, exposure, finding
from tests.realapps.servers import go_app, go_binary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield go_binary(tmp_path_factory.mktemp("go"))


async def test_pprof_on_the_public_mux(binary: Path) -> None:
    with go_app(binary, pprof_public=True) as url:
        result = await exposure(url)
    assert codes(result) == ["exposure.pprof"]
    message = finding(result, "exposure.pprof")
    assert f"Go net/http/pprof at {url}/debug/pprof/" in message
    assert "fix: do not import net/http/pprof in the public mux" in message


async def test_pprof_kept_off_the_public_mux(binary: Path) -> None:
    with go_app(binary, pprof_public=False) as url:
        result = await exposure(url)
    assert codes(result) == [], result.summary
