"""converter/analysis/match.py answers as libcst.matchers does: each pattern below, written once
and built with both modules, is tried on every node of the golden inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import libcst as cst
import libcst.matchers as lm
import pytest

from converter.analysis import match as cm
from converter.analysis.walk import Walk

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"

PATTERNS = {
    "any name": lambda m: m.Name(),
    "a name's value": lambda m: m.Name("model"),
    "positional field": lambda m: m.Arg(m.Name()),
    "nested": lambda m: m.Call(func=m.Attribute(value=m.Name(), attr=m.Name("step"))),
    "or": lambda m: m.Attribute(attr=m.Name("to") | m.Name("cuda") | m.Name("cpu")),
    "one of": lambda m: m.Attribute(attr=m.OneOf(m.Name("shape"), m.Name("size"))),
    "exact list": lambda m: m.Call(func=m.Name("len"), args=[m.Arg()]),
    "empty list": lambda m: m.Call(args=[]),
    "zero or more": lambda m: m.Call(args=[m.ZeroOrMore(), m.Arg(keyword=m.Name("lr"))]),
    "zero or more of": lambda m: m.Tuple(elements=[m.ZeroOrMore(m.Element(m.Name()))]),
    "list in the middle": lambda m: m.Call(
        args=[m.Arg(), m.ZeroOrMore(m.Arg(keyword=None)), m.Arg(m.Integer())]
    ),
    "none field": lambda m: m.Arg(keyword=None, value=m.Name()),
    "do not care": lambda m: m.Assign(targets=m.DoNotCare(), value=m.Call()),
    "statement": lambda m: m.SimpleStatementLine(body=[m.Expr(m.Call())]),
    "operators": lambda m: m.Comparison(
        left=m.BinaryOperation(operator=m.Modulo()),
        comparisons=[m.ComparisonTarget(m.Equal(), m.Integer("0"))],
    ),
    "number": lambda m: m.Integer() | m.Float() | m.UnaryOperation(expression=m.Integer()),
}


@pytest.fixture(scope="module")
def nodes() -> list[cst.CSTNode]:
    found = []
    for path in sorted(GOLDEN.glob("*.py")):
        found += Walk(cst.parse_module(path.read_text())).order
    assert len(found) > 10_000
    return found


@pytest.mark.parametrize("name", PATTERNS)
def test_the_same_answers_as_libcst_matchers(name, nodes):
    ours, theirs = PATTERNS[name](cm), PATTERNS[name](lm)
    matched = 0
    for node in nodes:
        expected = lm.matches(node, theirs)
        assert cm.matches(node, ours) == expected, (name, cst.Module([]).code_for_node(node))
        matched += expected
    assert matched, f"{name}: no node of the golden inputs matches; the case tests nothing"


def test_none_and_unknown_names():
    assert not cm.matches(None, cm.Name())
    with pytest.raises(AttributeError):
        cm.NoSuchNode  # noqa: B018
    with pytest.raises(TypeError, match="no field 'nmae'"):
        cm.Name(nmae="x")


def test_the_converter_does_not_load_libcst_matchers():
    """Its import is a fifth of `convert --check` over a tree (see match.py's docstring)."""
    code = "import sys, converter.pipeline; print('libcst.matchers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr


def test_find_in_a_walked_tree_lists_what_a_walk_of_the_subtree_finds():
    """`find` slices a walked tree's source order; the same as walking the subtree itself."""
    from converter.analysis import walk

    compared = 0
    for path in sorted(GOLDEN.glob("*.in.py")):
        module = cst.parse_module(path.read_text())
        order = Walk(module).order
        for node in order:
            if isinstance(node, (cst.BaseStatement, cst.Call)):
                expected = walk._find_by_walking(node, cst.CSTNode)
                assert walk.find(node, cst.CSTNode) == expected, cst.Module([]).code_for_node(node)
                compared += 1
    assert compared > 1000
