"""The package's shape: no import circle between modules of converter/, no module taking another's
private names, the two targets never importing each other nor anything above them, and every
package installed (pyproject.toml lists them one by one)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "converter"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    tomllib = None


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _under_type_checking(tree: ast.Module) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for n in ast.walk(node)}
    return skipped


def _imports(name: str) -> list[tuple[str, str | None]]:
    """(module imported, name taken from it) for every import of a converter module, at any depth
    of the file (a function's lazy import counts), except those only for type checkers."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _under_type_checking(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.startswith("converter")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            if base.startswith("converter"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.append((full, None) if full in MODULES else (base, alias.name))
    return found


GRAPH = {
    name: {target for target, _ in _imports(name) if target in MODULES and target != name}
    for name in MODULES
}


def _circles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    order, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v: str) -> None:
        order[v] = low[v] = len(order)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(GRAPH):
        if v not in order:
            visit(v)
    return groups


def test_no_import_circle_between_modules():
    assert _circles() == []


def test_no_module_takes_another_modules_private_names():
    taken = [
        f"{name} takes {source}.{what}"
        for name in MODULES
        for source, what in _imports(name)
        if what and what.startswith("_") and not what.startswith("__") and source != name
    ]
    assert taken == []


@pytest.mark.parametrize(
    ("layer", "never"),
    [
        ("converter.analysis", ("converter.targets", "converter.lightning_code", "converter.cli")),
        ("converter.lightning_code", ("converter.targets", "converter.cli")),
        ("converter.targets.trainer", ("converter.targets.fabric", "converter.cli")),
        ("converter.targets.fabric", ("converter.targets.trainer", "converter.cli")),
    ],
)
def test_a_layer_never_imports_the_layers_above_it_nor_the_other_target(layer, never):
    above = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name == layer or name.startswith(layer + ".")
        for target in targets
        if target.startswith(never)
    ]
    assert above == []


@pytest.mark.skipif(tomllib is None, reason="tomllib is Python 3.11+")
def test_every_package_is_installed():
    with open(ROOT / "pyproject.toml", "rb") as handle:
        listed = set(tomllib.load(handle)["tool"]["setuptools"]["packages"])
    packages = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    assert packages - listed == set()
