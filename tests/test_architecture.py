"""The layout's rules, checked on the source: layers import downward only, imports sit at module
level (``cli.py`` excepted: its commands import what they run, for a fast ``--help``), and nothing
outside ``warehouse/`` asks which engine it runs on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "callboard"

# package → the callboard packages it must never import (everything above it)
FORBIDDEN = {
    "calls": ("sources", "warehouse", "reports", "generate", "service", "store", "api", "webex", "cli"),
    "sources": ("warehouse", "reports", "generate", "service", "store", "api", "webex", "cli"),
    "warehouse": ("reports", "generate", "service", "store", "api", "webex", "cli"),
    "reports": ("service", "store", "api", "webex", "cli"),
    "store": ("reports", "service", "api", "webex", "cli"),
    "service": ("api", "cli"),
    "webex": ("api", "cli"),
}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations/versions" not in p.as_posix())


def _imports(tree: ast.AST) -> list[tuple[ast.AST, str]]:
    out: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node, node.module))
        elif isinstance(node, ast.Import):
            out += [(node, a.name) for a in node.names]
    return out


def _package(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0].removesuffix(".py")


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_layers_import_downward_only(path: Path) -> None:
    banned = FORBIDDEN.get(_package(path), ())
    for _, name in _imports(ast.parse(path.read_text())):
        parts = name.split(".")
        if parts[0] == "callboard" and len(parts) > 1:
            assert parts[1] not in banned, f"{path.relative_to(SRC)} imports {name}"


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


@pytest.mark.parametrize("path", [p for p in _modules() if p.name != "cli.py"],
                         ids=lambda p: p.relative_to(SRC).as_posix())
def test_callboard_imports_are_at_module_level(path: Path) -> None:
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    typing_only = _type_checking_blocks(tree)
    for node, name in _imports(tree):
        if name.startswith("callboard") and id(node) not in top:
            assert node.lineno in typing_only, f"{path.relative_to(SRC)}:{node.lineno} imports {name} in a function"


def test_only_the_warehouse_knows_engines_by_name() -> None:
    for path in _modules():
        if _package(path) == "warehouse":
            continue
        text = path.read_text()
        for needle in ('engine == "', 'engine != "', ".engine ==", ".con.con", "con._session"):
            assert needle not in text, f"{path.relative_to(SRC)} contains {needle!r}"
