"""Fill the Lightning code shapes in templates/ with LibCST nodes (patterns and the rewrite both
emit through here).

A template is plain Python with `{placeholder}`s. A placeholder alone on a line takes a list of
statements; one in a call's argument list takes a list of arguments; anywhere else, an expression
(LibCST's own template helpers handle those).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import libcst as cst
from libcst.helpers import parse_template_module

from converter.analysis.walk import children

try:  # LibCST's own template machinery, in two steps, so that the parse can be kept
    from libcst.helpers._template import TEMPLATE_PREFIX, TemplateTransformer, mangle_template
except ImportError:  # pragma: no cover - another LibCST layout: parse every time
    TemplateTransformer = None

_PREFIX = "__t2l_list_"
_MARK = _PREFIX + "{}__"


@cache
def expr(code: str) -> cst.BaseExpression:
    """The expression `code` (parsed once: nodes are immutable, so one can sit in many places)."""
    return cst.parse_expression(code)


@cache
def _folder() -> Path:
    """Installed, the templates are the package's data folder `converter/templates`; in a source
    checkout (editable, or on PYTHONPATH) they are `templates/` beside `converter/`. Plain paths:
    importlib.resources, and the zipfile and tempfile it loads, cost milliseconds at each start."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


@cache
def _text(name: str) -> str:
    return (_folder() / f"{name}.py").read_text("utf-8")


def fill(template: str, /, **values) -> list[cst.BaseStatement]:
    """The template's statements, with lists (statements or Args) and nodes put in place."""
    text = _text(template)
    lists = {k: v for k, v in values.items() if isinstance(v, list)}
    nodes = {k: v for k, v in values.items() if not isinstance(v, list)}
    for key in lists:
        text = text.replace("{" + key + "}", _MARK.format(key))
    if TemplateTransformer is None:
        module = parse_template_module(text, **nodes)
        return list(module.visit(_ExpandLists(lists)).body)
    module, on_the_way = _parsed(text, frozenset(nodes))
    return list(module.visit(_Fill(nodes, lists, on_the_way)).body)


@cache
def _parsed(text: str, placeholders: frozenset[str]) -> tuple[cst.Module, frozenset[int]]:
    """A template's parse with its placeholders as marked names (the same for every fill), and
    the ids of its nodes that hold a placeholder or a list mark (or a call with a trailing
    comma, which filling takes off): the only ones a fill must rebuild. A transform rebuilds
    every node it visits; the rest of a template is used as it was parsed. (Kept together: the
    ids are those of this parse's nodes.)"""
    module = cst.parse_module(mangle_template(text, set(placeholders)))
    found: set[int] = set()

    def marks(node: cst.CSTNode) -> bool:  # a plain recursion: LibCST's visitor is slower
        value = getattr(node, "value", None)
        marked = isinstance(value, str) and (TEMPLATE_PREFIX in value or _PREFIX in value)
        if isinstance(node, cst.Call) and node.args:
            marked |= node.args[-1].comma is not cst.MaybeSentinel.DEFAULT
        for child in children(node):
            marked |= marks(child)
        if marked:
            found.add(id(node))
        return marked

    marks(module)
    return module, frozenset(found)


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


if TemplateTransformer is not None:

    class _Fill(TemplateTransformer, _ExpandLists):
        """LibCST's placeholder replacement and the list expansion, in one transform that
        visits only the nodes on the way to a placeholder (see `_parsed`)."""

        def __init__(self, nodes: dict, lists: dict, on_the_way: frozenset[int]) -> None:
            TemplateTransformer.__init__(self, nodes)
            _ExpandLists.__init__(self, lists)
            self.on_the_way = on_the_way

        def on_visit(self, node: cst.CSTNode) -> bool:
            return id(node) in self.on_the_way and super().on_visit(node)

        def on_leave(self, original_node, updated_node):
            if id(original_node) not in self.on_the_way:
                return updated_node
            return super().on_leave(original_node, updated_node)

        def leave_SimpleStatementLine(self, original_node, updated_node):
            # a whole-statement placeholder first, as LibCST fills it; then a list mark
            updated = TemplateTransformer.leave_SimpleStatementLine(
                self, original_node, updated_node
            )
            if not isinstance(updated, cst.SimpleStatementLine):
                return updated
            return _ExpandLists.leave_SimpleStatementLine(self, original_node, updated)
