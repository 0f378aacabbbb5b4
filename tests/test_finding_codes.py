"""The README's "Check kinds" table names every finding code the source can emit, and only those.

Three sources are held against each other, for every registered kind (kinds added later are
picked up from ``checks.registry``):

- the kind's declared codes (``Check.codes`` plus the generic errors, ``Check.all_codes``);
- the source: an AST scan of the kind's module (its package, when it has one) for literal
  codes (``"health.status"``), ``judged("tls", …, "expired", …)`` calls and their
  ``partial(judged, "tls")`` aliases, and the error kinds it raises (``ProbeError("x", …)``,
  mapped through ``error_codes``);
- the README table row (``.name`` abbreviates ``<kind>.name``); ``config``, ``internal``
  and the kind's timeout code may be left out of a row (a sentence under the table says that
  every kind has them).

A kind that declares no codes (a new one) is compared with the scan alone.
"""

from __future__ import annotations

import ast
import importlib
import re
from functools import cache
from pathlib import Path

import pytest

from checks import registry
from checks.base import GENERIC_ERRORS, Check

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CODE = re.compile(r"^[a-z_]+\.[a-z0-9][a-z0-9_\-]*(?:\.[a-z0-9][a-z0-9_\-]*)?$")


def kinds() -> list[str]:
    return registry.known_kinds()


def check_class(kind: str) -> type[Check]:  # type: ignore[type-arg]
    return type(registry.get_check(kind))


def source_files(kind: str) -> list[Path]:
    """The kind's module, or its whole package when the class lives in one."""
    module = importlib.import_module(check_class(kind).__module__)
    path = Path(str(module.__file__))
    if path.parent == ROOT / "checks":
        return [path]
    package = path.parent
    while package.parent != ROOT / "checks":
        package = package.parent
    return sorted(package.rglob("*.py"))


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _const(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


@cache
def scanned(kind: str) -> tuple[frozenset[str], frozenset[str], bool]:
    """(literal codes of ``kind``, error kinds raised, whether codes are built at run time)."""
    codes: set[str] = set()
    raised: set[str] = set()
    dynamic = False
    prefix = f"{kind}."
    for path in source_files(kind):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):  # _f = partial(judged, "tls")
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                call = node.value
                if _name(call.func) == "partial" and len(call.args) >= 2:
                    bound = _const(call.args[1])
                    if _name(call.args[0]) == "judged" and bound is not None:
                        for target in node.targets:
                            if isinstance(target, ast.Name):
                                aliases[target.id] = bound
        for node in ast.walk(tree):
            text = _const(node) if isinstance(node, ast.expr) else None
            if text is not None and text.startswith(prefix) and CODE.match(text):
                codes.add(text)
            if isinstance(node, ast.JoinedStr) and node.values:
                head = _const(node.values[0])
                if head is not None and head.startswith(prefix) and len(node.values) > 1:
                    dynamic = True  # f"headers.{test.name}": declared from the same constant
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            args = node.args
            if name == "judged" and len(args) >= 3:
                bound, suffix = _const(args[0]), _const(args[2])
                if bound is not None and suffix is not None:
                    codes.add(f"{bound}.{suffix}")
            elif name in aliases and len(args) >= 2 and _const(args[1]) is not None:
                codes.add(f"{aliases[name]}.{_const(args[1])}")
            elif name == "ProbeError" and args and _const(args[0]) is not None:
                raised.add(str(_const(args[0])))
    return frozenset(c for c in codes if c.startswith(prefix)), frozenset(raised), dynamic


@cache
def raised_anywhere() -> frozenset[str]:
    """Every error kind some probe or check raises (``ProbeError("x", …)``), plus the
    runner's own (``internal``)."""
    kinds_raised: set[str] = {"internal"}
    for base in (ROOT / "auditor", ROOT / "checks"):
        for path in base.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and _name(node.func) == "ProbeError":
                    first = _const(node.args[0]) if node.args else None
                    if first is not None:
                        kinds_raised.add(first)
    return frozenset(kinds_raised)


def generic(kind: str) -> frozenset[str]:
    cls = check_class(kind)
    return frozenset(f"{kind}.{cls.error_codes.get(e, e)}" for e in GENERIC_ERRORS)


def emitted_by_scan(kind: str) -> frozenset[str]:
    """What the source alone shows the kind emits."""
    codes, raised, _ = scanned(kind)
    mapping = check_class(kind).error_codes
    return codes | {f"{kind}.{mapping.get(e, e)}" for e in raised} | generic(kind)


@cache
def readme_table() -> dict[str, frozenset[str]]:
    """kind -> the codes its row of the "Check kinds" table names."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Check kinds", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, frozenset[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[a-z_]+`", cells[0]):
            continue
        kind = cells[0].strip("`")
        codes = set()
        for token in re.findall(r"`([^`]+)`", cells[-1]):
            code = f"{kind}{token}" if token.startswith(".") else token
            assert CODE.match(code) and code.startswith(f"{kind}."), (
                f"README row {kind}: {token!r} is not a code of this kind"
            )
            codes.add(code)
        assert kind not in rows, f"README lists kind {kind} twice"
        rows[kind] = frozenset(codes)
    return rows


def test_every_kind_has_a_row_and_every_row_is_a_kind() -> None:
    rows = readme_table()
    assert sorted(rows) == sorted(kinds()), "README 'Check kinds' table vs checks.registry"


@pytest.mark.parametrize("kind", kinds())
def test_the_readme_row_names_exactly_what_the_kind_emits(kind: str) -> None:
    cls = check_class(kind)
    expected = cls.all_codes() if cls.codes else emitted_by_scan(kind)
    documented = readme_table()[kind] | generic(kind)
    assert sorted(expected - documented) == [], f"emitted by {kind} but not in the README"
    assert sorted(documented - expected) == [], f"in the README but not emitted by {kind}"


@pytest.mark.parametrize("kind", kinds())
def test_the_declared_codes_cover_the_source(kind: str) -> None:
    cls = check_class(kind)
    if not cls.codes:
        pytest.skip(f"{kind} declares no codes: the README is compared with the scan alone")
    missing = emitted_by_scan(kind) - cls.all_codes()
    assert sorted(missing) == [], f"{cls.__name__}.codes lacks codes its source emits"


@pytest.mark.parametrize("kind", kinds())
def test_every_declared_code_can_really_be_emitted(kind: str) -> None:
    cls = check_class(kind)
    literal, _, dynamic = scanned(kind)
    errors = {cls.error_codes.get(e, e) for e in raised_anywhere()}
    unexplained = [
        code
        for code in sorted(cls.all_codes())
        if code not in literal and code.split(".", 1)[1] not in errors
    ]
    if dynamic:  # codes built from a constant (headers test names, env verdicts)
        assert unexplained, f"{kind} builds codes at run time, yet the scan found them all"
        return
    assert unexplained == [], f"{kind} declares codes nothing in the source emits"


def test_the_scan_sees_what_it_must() -> None:
    """The scanner itself: it finds judged() aliases, literals and raised error kinds."""
    tls_codes, tls_raised, _ = scanned("tls")
    assert {"tls.expired", "tls.verify_failed", "tls.handshake_failed"} <= tls_codes
    assert "config" in tls_raised
    health_codes, _, _ = scanned("health")
    assert {"health.status", "health.condition"} <= health_codes
    assert {"tls", "dns", "blocked_by_policy", "body_too_large"} <= raised_anywhere()
