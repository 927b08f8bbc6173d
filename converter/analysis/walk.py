"""One walk over a parsed module: each node's parent, the nodes in source order, and the scopes
(what each scope binds and reads). Everything the analysis asks of the tree's shape and names
comes from this one pass.

The walk reads the nodes' dataclass fields directly instead of LibCST's visitor machinery
(`node.children` and metadata providers rebuild each node as they go, which costs more than
parsing), skips whitespace and punctuation nodes, and keeps source order with a small table of
node types whose fields are not declared in source order.
"""

from __future__ import annotations

import dataclasses
import weakref
from enum import Enum

import libcst as cst
from libcst.helpers import get_full_name_for_node

from converter.analysis import match as m
from converter.analysis.scopes import (
    ClassScope,
    ComprehensionScope,
    FunctionScope,
    ModuleScope,
    Scope,
)


class Ctx(Enum):
    LOAD = 1  # a read
    STORE = 2  # a binding
    BOTH = 3  # `x += 1` reads and binds
    NONE = 4  # not a variable: an attribute's name, a keyword, a def's own name


LOAD, STORE, BOTH, NONE = Ctx.LOAD, Ctx.STORE, Ctx.BOTH, Ctx.NONE

# Formatting only: no analysis asks for these, so the walk does not visit them.
_FORMATTING = (
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.Comment,
    cst.Comma,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.Colon,
    cst.Semicolon,
    cst.AssignEqual,
    cst.Dot,
    cst.ImportStar,
    cst.ParamSlash,
    cst.ParamStar,
    cst.BaseBinaryOp,
    cst.BaseUnaryOp,
    cst.BaseBooleanOp,
    cst.BaseCompOp,
    cst.BaseAugOp,
)
_SKIPPED_FIELDS = {"lpar", "rpar", "leading_lines", "lines_after_decorators", "header", "footer"}
# Node types whose dataclass fields are not in source order.
_SOURCE_ORDER = {
    cst.Arg: ("keyword", "value"),
    cst.ExceptHandler: ("type", "name", "body"),
    cst.ExceptStarHandler: ("type", "name", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.FunctionDef: (
        "decorators",
        "asynchronous",
        "name",
        "type_parameters",
        "params",
        "returns",
        "body",
    ),
    cst.IfExp: ("body", "test", "orelse"),
    cst.Parameters: (
        "posonly_params",
        "posonly_ind",
        "params",
        "star_arg",
        "kwonly_params",
        "star_kwarg",
    ),
    cst.With: ("asynchronous", "items", "body"),
    cst.For: ("asynchronous", "target", "iter", "body", "orelse"),
    cst.MatchCase: ("pattern", "guard", "body"),
}
_FIELDS: dict[type, tuple[str, ...]] = {}
_SIGNIFICANT: dict[type, bool] = {}  # per concrete type: a node that carries meaning


def _significant(kind: type) -> bool:
    found = _SIGNIFICANT.get(kind)
    if found is None:
        found = _SIGNIFICANT[kind] = is_kind(kind, cst.CSTNode) and not is_kind(kind, _FORMATTING)
    return found


def is_kind(kind: type, of: type | tuple[type, ...]) -> bool:
    """`issubclass(kind, of)` for LibCST's node classes, read from the class's MRO. LibCST's bases
    are ABCs, whose `issubclass` answers "no" by asking every subclass in turn (hundreds, under
    `CSTNode`), once per class: a tenth of a one-file run's first conversion."""
    bases = kind.__mro__
    return any(base in bases for base in of) if isinstance(of, tuple) else of in bases


def _fields(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _SOURCE_ORDER.get(kind) or tuple(
            f.name
            for f in dataclasses.fields(kind)
            if f.name not in _SKIPPED_FIELDS and not f.name.startswith("whitespace")
        )
        _FIELDS[kind] = names
    return names


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The node's children that carry meaning, in source order."""
    found = []
    for name in _fields(type(node)):
        value = getattr(node, name, None)
        kind = type(value)
        if kind is list or kind is tuple:
            found.extend(v for v in value if _significant(type(v)))
        elif _significant(kind):
            found.append(value)
    return found


def find(node: cst.CSTNode, kind: type | tuple[type, ...], matcher=None) -> list:
    """The nodes of `kind` (matching `matcher`, if given) in `node`'s subtree, `node` included,
    in source order: `libcst.matchers.findall` without LibCST's visitor machinery.

    A node of a recently walked tree (the script's, the conversion's) has its subtree listed
    there already, in the same order: a slice instead of a walk."""
    for recent in _RECENT:
        walk = recent()
        start = walk.position.get(node) if walk is not None else None
        if start is not None:
            return [
                n
                for n in walk.order[start : walk.end[node]]
                if isinstance(n, kind) and (matcher is None or m.matches(n, matcher))
            ]
    return _find_by_walking(node, kind, matcher)


def _find_by_walking(node: cst.CSTNode, kind: type | tuple[type, ...], matcher=None) -> list:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, kind) and (matcher is None or m.matches(current, matcher)):
            found.append(current)
        stack.extend(reversed(children(current)))
    return found


#: The last two walks (a conversion's script and its output), for `find`.
_RECENT: list[weakref.ref[Walk]] = []


class Walk:
    """parents, source order (and each node's position in it), each node's scope."""

    def __init__(self, module: cst.Module) -> None:
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        self.order: list[cst.CSTNode] = []
        self.position: dict[cst.CSTNode, int] = {}
        self.end: dict[cst.CSTNode, int] = {}  # one past the node's last descendant
        self.scopes: dict[cst.CSTNode, Scope] = {}
        self.module_scope = ModuleScope(module, None)
        self._run(module)
        _RECENT.insert(0, weakref.ref(self))
        del _RECENT[2:]

    def descendants(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        start = self.position[node]
        return self.order[start + 1 : self.end[node]]

    # -- the walk ------------------------------------------------------------------------------

    def _run(self, module: cst.Module) -> None:
        # (node, parent, scope, context); a None node closes the subtree of the one given.
        stack: list[tuple] = [(module, None, self.module_scope, LOAD)]
        order, position, end, parents, scopes = (
            self.order,
            self.position,
            self.end,
            self.parents,
            self.scopes,
        )
        while stack:
            node, parent, scope, ctx = stack.pop()
            # A generated tree may hold one node in several places (a template's `self`): its
            # position and end are those of its first place, so that `order` and `descendants`
            # agree with a reading of the printed code from the top.
            if node is None:
                end.setdefault(parent, len(order))
                continue
            position.setdefault(node, len(order))
            order.append(node)
            if parent is not None:
                parents[node] = parent
            scopes[node] = scope
            stack.append((None, node, None, None))
            pushed = self._children(node, scope, ctx)
            stack.extend(reversed(pushed))

    def _children(self, node, scope: Scope, ctx: Ctx) -> list[tuple]:
        """Each child with the scope it is evaluated in and its context; binds names on the way."""
        if scope is None:  # inside an import statement
            return [(child, node, None, NONE) for child in children(node)]
        kind = type(node)
        if kind is cst.Name:
            if ctx is LOAD or ctx is BOTH:
                scope.access(node.value, node)
            if ctx is STORE or ctx is BOTH:
                scope.assign(node.value, node)
            return []
        handler = _HANDLERS.get(kind)
        if handler is not None:
            return handler(self, node, scope, ctx)
        # Targets pass their context down through tuples, lists and starred elements only.
        inner = ctx if kind in _TARGET_CONTAINERS else LOAD
        return [(child, node, scope, inner) for child in children(node)]


_TARGET_CONTAINERS = {cst.Tuple, cst.List, cst.Element, cst.StarredElement}


def _with(node, scope, contexts: dict[str, Ctx], scopes: dict[str, Scope] | None = None):
    """Children of `node`, each with the context its field gives (LOAD by default)."""
    result = []
    for name in _fields(type(node)):
        value = getattr(node, name, None)
        values = value if type(value) in (list, tuple) else (value,)
        for child in values:
            if _significant(type(child)):
                where = scopes.get(name, scope) if scopes else scope
                result.append((child, node, where, contexts.get(name, LOAD)))
    return result


def _attribute(walk, node, scope, ctx):
    return _with(node, scope, {"attr": NONE})


def _arg(walk, node, scope, ctx):
    return _with(node, scope, {"keyword": NONE})


def _assign_target(walk, node, scope, ctx):
    return _with(node, scope, {"target": STORE})


def _aug_assign(walk, node, scope, ctx):
    return _with(node, scope, {"target": BOTH})


def _ann_assign(walk, node, scope, ctx):
    return _with(node, scope, {"target": STORE})


def _for(walk, node, scope, ctx):
    return _with(node, scope, {"target": STORE})


def _as_name(walk, node, scope, ctx):
    return _with(node, scope, {"name": STORE if ctx is not NONE else NONE})


def _named_expr(walk, node, scope, ctx):
    # `:=` binds in the nearest scope that is not a comprehension.
    target_scope = scope
    while isinstance(target_scope, ComprehensionScope):
        target_scope = target_scope.parent
    return _with(node, scope, {"target": STORE}, {"target": target_scope})


def _del(walk, node, scope, ctx):
    return _with(node, scope, {"target": STORE})


def _name_item(walk, node, scope, ctx):
    return _with(node, scope, {"name": NONE})


def _global(walk, node, scope, ctx):
    scope.globals.update(item.name.value for item in node.names)
    return _with(node, scope, {})


def _nonlocal(walk, node, scope, ctx):
    scope.nonlocals.update(item.name.value for item in node.names)
    return _with(node, scope, {})


def _import(walk, node, scope, ctx):
    for alias in node.names:
        dotted = get_full_name_for_node(alias.name) or ""
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            scope.assign(alias.asname.name.value, node, dotted)
        else:
            root = dotted.partition(".")[0]
            scope.assign(root, node, root)
    return _names_of_import(node)


def _import_from(walk, node, scope, ctx):
    module = get_full_name_for_node(node.module) if node.module is not None else ""
    base = "." * len(node.relative) + (module or "")
    if not isinstance(node.names, cst.ImportStar):
        for alias in node.names:
            name = get_full_name_for_node(alias.name) or ""
            bound = alias.asname.name.value if alias.asname is not None else name
            qualified = f"{base}.{name}" if module else f"{base}{name}"
            scope.assign(bound, node, qualified)
    return _names_of_import(node)


def _names_of_import(node) -> list[tuple]:
    """The names an import statement spells are no variables of any scope (as in LibCST, they
    have no scope and no qualified names)."""
    return [(child, node, None, NONE) for child in children(node)]


def _import_alias(walk, node, scope, ctx):
    return _names_of_import(node)


def _parameters(function_scope: Scope, node: cst.Parameters) -> None:
    for param in (*node.posonly_params, *node.params, *node.kwonly_params):
        function_scope.assign(param.name.value, param)
    for star in (node.star_arg, node.star_kwarg):
        if isinstance(star, cst.Param):
            function_scope.assign(star.name.value, star)


def _param(walk, node, scope, ctx):
    return _with(node, scope, {"name": NONE})


def _function_def(walk, node, scope, ctx):
    scope.assign(node.name.value, node)
    inner = FunctionScope(node, scope)
    _parameters(inner, node.params)
    return _with(node, scope, {"name": NONE}, {"body": inner})


def _lambda(walk, node, scope, ctx):
    inner = FunctionScope(node, scope)
    _parameters(inner, node.params)
    return _with(node, scope, {}, {"body": inner})


def _class_def(walk, node, scope, ctx):
    scope.assign(node.name.value, node)
    return _with(node, scope, {"name": NONE}, {"body": ClassScope(node, scope)})


def _comprehension(walk, node, scope, ctx):
    inner = ComprehensionScope(node, scope)
    return [(child, node, inner, LOAD) for child in children(node)]


def _comp_for(walk, node, scope, ctx):
    # The outermost iterable is evaluated in the scope around the comprehension.
    first = isinstance(scope, ComprehensionScope) and walk.parents.get(node) is scope.node
    iter_scope = scope.parent if first else scope
    return _with(node, scope, {"target": STORE}, {"iter": iter_scope})


def _match_as(walk, node, scope, ctx):
    return _with(node, scope, {"name": STORE})


def _match_keyword(walk, node, scope, ctx):
    return _with(node, scope, {"key": NONE})


def _match_mapping(walk, node, scope, ctx):
    return _with(node, scope, {"rest": STORE})


_HANDLERS = {
    cst.Attribute: _attribute,
    cst.Arg: _arg,
    cst.AssignTarget: _assign_target,
    cst.AugAssign: _aug_assign,
    cst.AnnAssign: _ann_assign,
    cst.For: _for,
    cst.CompFor: _comp_for,
    cst.AsName: _as_name,
    cst.NamedExpr: _named_expr,
    cst.Del: _del,
    cst.Global: _global,
    cst.Nonlocal: _nonlocal,
    cst.NameItem: _name_item,
    cst.Import: _import,
    cst.ImportFrom: _import_from,
    cst.ImportAlias: _import_alias,
    cst.Param: _param,
    cst.FunctionDef: _function_def,
    cst.Lambda: _lambda,
    cst.ClassDef: _class_def,
    cst.ListComp: _comprehension,
    cst.SetComp: _comprehension,
    cst.DictComp: _comprehension,
    cst.GeneratorExp: _comprehension,
    cst.MatchAs: _match_as,
    cst.MatchStar: _match_as,
    cst.MatchKeywordElement: _match_keyword,
    cst.MatchMapping: _match_mapping,
}
