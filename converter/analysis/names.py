"""Which variables a piece of code reads and writes, in source order.

Attribute names (`x.attr`), keyword names (`f(key=...)`) and names bound inside comprehensions or
lambdas of the code itself are not variables of the enclosing scope, so they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.scopes import ComprehensionScope, FunctionScope
from converter.analysis.walk import children, find

READ, WRITE = "read", "write"


@dataclass(frozen=True)
class NameEvent:
    node: cst.Name
    kind: str  # READ or WRITE


class _Collector:
    """Name events in evaluation order (a value before the target it is assigned to, a loop's
    iterable before its target). A plain recursion over `walk.children`: LibCST's visitor
    rebuilds every node it passes, and the dataflow asks this of every moved statement."""

    def __init__(self, index: SourceIndex) -> None:
        self.index = index
        self.events: list[NameEvent] = []
        self._store = False
        self._nested: set[cst.CSTNode] = set()  # functions defined inside the code itself

    def _inner_bound(self, node: cst.Name) -> bool:
        scope = self.index.scope(node)
        if isinstance(scope, ComprehensionScope) or (
            isinstance(scope, FunctionScope)
            and (isinstance(scope.node, cst.Lambda) or scope.node in self._nested)
        ):
            return any(a.scope is scope for a in scope.assignments[node.value])
        return False

    def visit(self, node: cst.CSTNode) -> None:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            handler(self, node)
        else:
            for child in children(node):
                self.visit(child)

    def stored(self, node: cst.CSTNode) -> None:
        store, self._store = self._store, True
        self.visit(node)
        self._store = store

    def loaded(self, node: cst.CSTNode) -> None:
        store, self._store = self._store, False
        self.visit(node)
        self._store = store

    def name(self, node: cst.Name) -> None:
        if not self._inner_bound(node):
            self.events.append(NameEvent(node, WRITE if self._store else READ))

    def attribute(self, node: cst.Attribute) -> None:
        self.loaded(node.value)

    def subscript(self, node: cst.Subscript) -> None:
        store, self._store = self._store, False
        self.visit(node.value)
        for element in node.slice:
            self.visit(element)
        self._store = store

    def arg(self, node: cst.Arg) -> None:
        self.visit(node.value)

    def param(self, node: cst.Param) -> None:
        if node.default is not None:
            self.visit(node.default)

    def lambda_(self, node: cst.Lambda) -> None:
        self.visit(node.params)
        self.visit(node.body)

    def assign(self, node: cst.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.stored(target.target)

    def ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.stored(node.target)

    def aug_assign(self, node: cst.AugAssign) -> None:
        self.visit(node.value)
        self.visit(node.target)  # an augmented target is read first ...
        self.stored(node.target)  # ... then written

    def for_(self, node: cst.For) -> None:
        self.visit(node.iter)
        self.stored(node.target)
        self.visit(node.body)
        if node.orelse is not None:
            self.visit(node.orelse)

    def with_item(self, node: cst.WithItem) -> None:
        self.visit(node.item)
        if node.asname is not None:
            self.stored(node.asname.name)

    def named_expr(self, node: cst.NamedExpr) -> None:
        self.visit(node.value)
        self.stored(node.target)

    def function_def(self, node: cst.FunctionDef) -> None:
        # A closure (an LBFGS `def closure():`) reads the enclosing code's names when called.
        self.events.append(NameEvent(node.name, WRITE))
        self._nested.add(node)
        self.visit(node.params)
        self.visit(node.body)

    def class_def(self, node: cst.ClassDef) -> None:
        self.events.append(NameEvent(node.name, WRITE))

    def import_alias(self, node: cst.ImportAlias) -> None:
        bound = node.asname.name if node.asname else node.name
        while isinstance(bound, cst.Attribute):
            bound = bound.value
        if isinstance(bound, cst.Name):
            self.events.append(NameEvent(bound, WRITE))


_HANDLERS = {
    cst.Name: _Collector.name,
    cst.Attribute: _Collector.attribute,
    cst.Subscript: _Collector.subscript,
    cst.Arg: _Collector.arg,
    cst.Param: _Collector.param,
    cst.Lambda: _Collector.lambda_,
    cst.Assign: _Collector.assign,
    cst.AnnAssign: _Collector.ann_assign,
    cst.AugAssign: _Collector.aug_assign,
    cst.For: _Collector.for_,
    cst.WithItem: _Collector.with_item,
    cst.NamedExpr: _Collector.named_expr,
    cst.FunctionDef: _Collector.function_def,
    cst.ClassDef: _Collector.class_def,
    cst.ImportAlias: _Collector.import_alias,
}


def name_events(index: SourceIndex, nodes: Iterable[cst.CSTNode]) -> list[NameEvent]:
    """The events of each node in turn. Each node's are found once per index: the dataflow, the
    patterns and the rewrite ask again about the same moved statements."""
    known = index.memo.setdefault("name_events", {})
    events: list[NameEvent] = []
    for node in nodes:
        found = known.get(node)
        if found is None:
            collector = _Collector(index)
            collector.visit(node)
            found = known[node] = tuple(collector.events)
        events.extend(found)
    return events


def names_read(index: SourceIndex, nodes: Iterable[cst.CSTNode]) -> set[str]:
    return {e.node.value for e in name_events(index, nodes) if e.kind == READ}


def names_written(index: SourceIndex, nodes: Iterable[cst.CSTNode]) -> set[str]:
    return {e.node.value for e in name_events(index, nodes) if e.kind == WRITE}


def read_before_written(index: SourceIndex, nodes: Iterable[cst.CSTNode]) -> set[str]:
    """Names some path through `nodes` may read before setting them: they come from outside,
    or from an earlier round of a loop.

    A write counts once it certainly happened: after both branches of an `if` set a name, not
    after a loop body or one branch alone; a `for` loop's own target counts after the loop.
    """
    found: set[str] = set()

    def events(node: cst.CSTNode, assigned: set[str]) -> None:
        for event in name_events(index, [node]):
            if event.kind == READ and event.node.value not in assigned:
                found.add(event.node.value)
            elif event.kind == WRITE:
                assigned.add(event.node.value)

    def block(statements, assigned: set[str]) -> set[str]:
        for statement in statements:
            assigned = one(statement, assigned)
        return assigned

    def one(statement: cst.CSTNode, assigned: set[str]) -> set[str]:
        if isinstance(statement, cst.If):
            events(statement.test, assigned)
            taken = block(statement.body.body, set(assigned))
            orelse = statement.orelse
            if orelse is None:
                return assigned
            other = (
                one(orelse, set(assigned))
                if isinstance(orelse, cst.If)
                else block(orelse.body.body, set(assigned))
            )
            return assigned | (taken & other)
        if isinstance(statement, (cst.For, cst.While)):
            inner = set(assigned)
            events(statement.iter if isinstance(statement, cst.For) else statement.test, inner)
            if isinstance(statement, cst.For):
                inner |= {n.value for n in find(statement.target, cst.Name)}
            block(statement.body.body, inner)
            if statement.orelse is not None:
                block(statement.orelse.body.body, set(assigned))
            elif isinstance(statement, cst.For):
                # `for j, data in enumerate(valid_loader): ...` then `print(j + 1)`: the loop is
                # taken to have run (after an empty one the read fails, or reads a stale value).
                return assigned | {n.value for n in find(statement.target, cst.Name)}
            return assigned
        if isinstance(statement, cst.With):
            for item in statement.items:
                events(item, assigned)
            return block(statement.body.body, assigned)
        if isinstance(statement, cst.Try):
            block(statement.body.body, set(assigned))
            for handler in statement.handlers:
                block(handler.body.body, set(assigned))
            for extra in (statement.orelse, statement.finalbody):
                if extra is not None:
                    block(extra.body.body, set(assigned))
            return assigned
        events(statement, assigned)
        return assigned

    block(list(nodes), set())
    return found
