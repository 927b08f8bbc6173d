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
from converter.analysis.walk import find

READ, WRITE = "read", "write"


@dataclass(frozen=True)
class NameEvent:
    node: cst.Name
    kind: str  # READ or WRITE


class _Collector(cst.CSTVisitor):
    def __init__(self, index: SourceIndex) -> None:
        self.index = index
        self.events: list[NameEvent] = []
        self._store_depth = 0
        self._nested: set[cst.CSTNode] = set()  # functions defined inside the code itself

    def _inner_bound(self, node: cst.Name) -> bool:
        scope = self.index.scope(node)
        if isinstance(scope, ComprehensionScope) or (
            isinstance(scope, FunctionScope)
            and (isinstance(scope.node, cst.Lambda) or scope.node in self._nested)
        ):
            return any(a.scope is scope for a in scope.assignments[node.value])
        return False

    def visit_Name(self, node: cst.Name) -> bool:
        if not self._inner_bound(node):
            self.events.append(NameEvent(node, WRITE if self._store_depth else READ))
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        depth, self._store_depth = self._store_depth, 0
        node.value.visit(self)
        self._store_depth = depth
        return False

    def visit_Subscript(self, node: cst.Subscript) -> bool:
        depth, self._store_depth = self._store_depth, 0
        node.value.visit(self)
        for element in node.slice:
            element.visit(self)
        self._store_depth = depth
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Param(self, node: cst.Param) -> bool:
        if node.default is not None:
            node.default.visit(self)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        node.params.visit(self)
        node.body.visit(self)
        return False

    def _store(self, target: cst.CSTNode) -> None:
        self._store_depth += 1
        target.visit(self)
        self._store_depth -= 1

    def visit_Assign(self, node: cst.Assign) -> bool:
        node.value.visit(self)
        for target in node.targets:
            self._store(target.target)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        if node.value is not None:
            node.value.visit(self)
        self._store(node.target)
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        node.value.visit(self)
        node.target.visit(self)  # an augmented target is read first ...
        self._store(node.target)  # ... then written
        return False

    def visit_For(self, node: cst.For) -> bool:
        node.iter.visit(self)
        self._store(node.target)
        node.body.visit(self)
        if node.orelse is not None:
            node.orelse.visit(self)
        return False

    def visit_WithItem(self, node: cst.WithItem) -> bool:
        node.item.visit(self)
        if node.asname is not None:
            self._store(node.asname.name)
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        node.value.visit(self)
        self._store(node.target)
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        # A closure (an LBFGS `def closure():`) reads the enclosing code's names when called.
        self.events.append(NameEvent(node.name, WRITE))
        self._nested.add(node)
        node.params.visit(self)
        node.body.visit(self)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.events.append(NameEvent(node.name, WRITE))
        return False

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        bound = node.asname.name if node.asname else node.name
        while isinstance(bound, cst.Attribute):
            bound = bound.value
        if isinstance(bound, cst.Name):
            self.events.append(NameEvent(bound, WRITE))
        return False


def name_events(index: SourceIndex, nodes: Iterable[cst.CSTNode]) -> list[NameEvent]:
    collector = _Collector(index)
    for node in nodes:
        node.visit(collector)
    return collector.events


def names_read(index: SourceIndex, nodes: Iterable[cst.CSTNode]) -> set[str]:
    return {e.node.value for e in name_events(index, nodes) if e.kind == READ}


def names_written(index: SourceIndex, nodes: Iterable[cst.CSTNode]) -> set[str]:
    return {e.node.value for e in name_events(index, nodes) if e.kind == WRITE}


def read_before_written(index: SourceIndex, nodes: Iterable[cst.CSTNode]) -> set[str]:
    """Names some path through `nodes` may read before setting them: they come from outside,
    or from an earlier round of a loop.

    A write counts once it certainly happened: after both branches of an `if` set a name, not
    after a loop body or one branch alone.
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
