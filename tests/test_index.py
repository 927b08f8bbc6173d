"""The analysis' own tree facts agree with LibCST's metadata providers, on real files: the lines
the report cites (PositionProvider), the qualified names of imported names and what each scope
binds (ScopeProvider)."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import (
    MetadataWrapper,
    PositionProvider,
    QualifiedNameSource,
    ScopeProvider,
)

from converter.analysis.index import SourceIndex
from converter.analysis.walk import children

ROOT = Path(__file__).resolve().parents[1]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
FILES = [
    *sorted((ROOT / "tests" / "golden").glob("*.in.py")),
    *sorted((ROOT / "fixtures").glob("*.py")),
    *(STDLIB / name for name in ("argparse.py", "dataclasses.py")),
]
TRICKY = """\
# a comment
\"\"\"docstring
over lines\"\"\"
import torch.nn as nn, os  # two imports
from torch import optim as o
x = 1; y = (2 +
     3)


@decorator(
    a=1,
)
def f(a, b=x, *args, c: int = 2, **kw):
    global y
    y = [i for i in range(a) if i]
    g = lambda q, r=b: q + r
    return nn.Linear(o.lr, \"\"\"
    text\"\"\")


class C(Base, metaclass=M):
    z = 3
    def m(self):
        return z

if x:
    pass
elif y:
    pass
else:
    try:
        import json
    except (ValueError, TypeError) as error:
        raise
    finally:
        del x
"""


def _parse(path_or_text):
    text = path_or_text.read_text() if isinstance(path_or_text, Path) else path_or_text
    return text, cst.parse_module(text)


@pytest.mark.parametrize("source", [*FILES, TRICKY], ids=lambda s: getattr(s, "name", "tricky"))
def test_lines_are_positionproviders_starts(source):
    text, module = _parse(source)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    index = SourceIndex(module, text)
    nodes = [n for n in index.nodes(cst.CSTNode) if n is not module]
    for node in random.Random(0).sample(nodes, min(400, len(nodes))):
        assert index.line(node) == positions[node].start.line, (type(node).__name__, node)


@pytest.mark.parametrize("source", [*FILES, TRICKY], ids=lambda s: getattr(s, "name", "tricky"))
def test_imported_names_qualify_as_libcst_qualifies_them(source):
    text, module = _parse(source)
    scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    index = SourceIndex(module, text)
    checked = 0
    for node in index.nodes((cst.Name, cst.Attribute)):
        scope = scopes.get(node)
        names = scope.get_qualified_names_for(node) if scope is not None else ()
        imported = {q.name for q in names if q.source is QualifiedNameSource.IMPORT}
        if imported:
            checked += 1
            assert imported <= index.qualified_names(node), cst.Module([]).code_for_node(node)
    assert checked or source is not TRICKY


@pytest.mark.parametrize("source", [*FILES, TRICKY], ids=lambda s: getattr(s, "name", "tricky"))
def test_scopes_bind_what_libcsts_scopes_bind(source):
    text, module = _parse(source)
    theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
    index = SourceIndex(module, text)
    # LibCST binds no names in match patterns (`case Point(x=x0):`); Python and we do.
    matched = {n.name.value for n in index.nodes((cst.MatchAs, cst.MatchStar)) if n.name}
    for statement in index.nodes(cst.BaseStatement):
        mine, their = index.scope(statement), theirs.get(statement)
        if their is None:
            continue
        own = {a.name for a in mine.assignments if a.scope is mine} - matched
        # LibCST names `import a.b` by its dotted name; Python binds `a`, as we do.
        expected = {a.name.partition(".")[0] for a in their.assignments if a.scope is their}
        assert own == expected, (type(statement).__name__, own ^ expected)


@pytest.mark.parametrize("source", [*FILES, TRICKY], ids=lambda s: getattr(s, "name", "tricky"))
def test_children_are_libcsts_children_in_the_same_order(source):
    """Without the formatting nodes (whitespace, commas, parentheses, operators)."""
    _, module = _parse(source)
    mine = set(SourceIndex(module).nodes(cst.CSTNode))
    stack = [module]
    while stack:
        node = stack.pop()
        theirs = [child for child in node.children if child in mine]
        assert children(node) == theirs, type(node).__name__
        stack.extend(node.children)
