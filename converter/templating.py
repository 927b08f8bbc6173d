"""Fill the Lightning code shapes in templates/ with LibCST nodes (patterns and the rewrite both
emit through here).

A template is plain Python with `{placeholder}`s. A placeholder alone on a line takes a list of
statements; one in a call's argument list takes a list of arguments; anywhere else, an expression
(LibCST's own template helpers handle those).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import libcst as cst
from libcst.helpers import parse_template_module

try:  # LibCST's own template machinery, in two steps, so that the parse can be kept
    from libcst.helpers._template import mangle_template, unmangle_nodes
except ImportError:  # pragma: no cover - another LibCST layout: parse every time
    mangle_template = unmangle_nodes = None

_MARK = "__t2l_list_{}__"


@cache
def expr(code: str) -> cst.BaseExpression:
    """The expression `code` (parsed once: nodes are immutable, so one can sit in many places)."""
    return cst.parse_expression(code)


@cache
def _text(name: str) -> str:
    try:
        folder = resources.files("converter.templates")  # installed: the package's data
    except ModuleNotFoundError:  # a source checkout on PYTHONPATH: templates/ beside converter/
        folder = Path(__file__).resolve().parents[1] / "templates"
    return folder.joinpath(f"{name}.py").read_text("utf-8")


def fill(template: str, /, **values) -> list[cst.BaseStatement]:
    """The template's statements, with lists (statements or Args) and nodes put in place."""
    text = _text(template)
    lists = {k: v for k, v in values.items() if isinstance(v, list)}
    nodes = {k: v for k, v in values.items() if not isinstance(v, list)}
    for key in lists:
        text = text.replace("{" + key + "}", _MARK.format(key))
    if unmangle_nodes is None:
        module = parse_template_module(text, **nodes)
    else:
        module = unmangle_nodes(_parsed(text, frozenset(nodes)), nodes)
    return list(module.visit(_ExpandLists(lists)).body)


@cache
def _parsed(text: str, placeholders: frozenset[str]) -> cst.Module:
    """A template's parse with its placeholders as marked names: the same for every fill."""
    return cst.parse_module(mangle_template(text, set(placeholders)))


class _ExpandLists(cst.CSTTransformer):
    def __init__(self, lists: dict[str, list]) -> None:
        self.lists = {_MARK.format(k): v for k, v in lists.items()}

    def _list_for(self, node: cst.CSTNode) -> list | None:
        if isinstance(node, cst.Name):
            return self.lists.get(node.value)
        return None

    def leave_SimpleStatementLine(self, original, updated):
        if len(updated.body) == 1 and isinstance(updated.body[0], cst.Expr):
            statements = self._list_for(updated.body[0].value)
            if statements is not None:
                return cst.FlattenSentinel(statements) if statements else cst.RemovalSentinel.REMOVE
        return updated

    def leave_Call(self, original, updated):
        args: list[cst.Arg] = []
        for arg in updated.args:
            expansion = self._list_for(arg.value) if arg.keyword is None else None
            args.extend(expansion if expansion is not None else [arg])
        if args and args[-1].comma is not cst.MaybeSentinel.DEFAULT:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(args=args)
