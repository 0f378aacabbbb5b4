"""The house rules of the code base (issue #16), checked on every test run.

The import contracts themselves live in ``pyproject.toml`` (``[tool.importlinter]``) and are
run here with the real ``lint-imports``; the size limits keep modules readable in one sitting.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
#: what ``checks/`` may import from ``auditor/``: the prober's interface and outcome types
CHECKS_MAY_IMPORT = {"auditor.probe.outcome", "auditor.probe.interface"}


def _auditor_modules() -> list[Path]:
    return [
        p
        for p in sorted((ROOT / "auditor").rglob("*.py"))
        if "migrations" not in p.relative_to(ROOT / "auditor").parts
    ]


def test_import_contracts_hold() -> None:
    """Layers (data flows one way), checks ↛ prober internals, web ↛ SQL: ``lint-imports``."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a test dependency (pip install -e '.[test]')"
    proc = subprocess.run(
        [exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_checks_depend_only_on_the_prober_interface() -> None:
    graph = grimp.build_graph("checks", "auditor")
    used = {
        imported
        for module in graph.find_descendants("checks") | {"checks"}
        for imported in graph.find_modules_directly_imported_by(module)
        if imported.startswith("auditor")
    }
    assert used <= CHECKS_MAY_IMPORT, sorted(used - CHECKS_MAY_IMPORT)


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("auditor", "checks", "web")
    cyclic = []
    for module in sorted(graph.modules):
        if not module.startswith(("auditor", "checks", "web")):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(imported, module):
                cyclic.append(f"{module} <-> {imported}")
    assert not cyclic, cyclic[:20]


@pytest.mark.parametrize("path", _auditor_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_classes_stay_small(path: Path) -> None:
    source = path.read_text()
    lines = len(source.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split this module by its jobs"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"class {node.name} has {size} lines"
