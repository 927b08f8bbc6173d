"""SourceIndex: one parse of a script with the LibCST metadata every analysis step reads.

Qualified names make `import torch.optim as optim`, `from torch import optim` and
`from torch.optim import Adam` look alike; scopes say where a name is bound; positions give the
line numbers the report cites. Nothing here changes the tree.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)


class SourceIndex:
    def __init__(self, module: cst.Module) -> None:
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.module = self.wrapper.module
        self._scopes = self.wrapper.resolve(ScopeProvider)
        self._qnames = self.wrapper.resolve(QualifiedNameProvider)
        self._positions = self.wrapper.resolve(PositionProvider)
        self._parents = self.wrapper.resolve(ParentNodeProvider)

    # -- positions and tree shape -------------------------------------------------------------

    def line(self, node: cst.CSTNode) -> int:
        try:
            return self._positions[node].start.line
        except KeyError:
            return 0

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self._parents.get(node)
        while current is not None:
            yield current
            current = self._parents.get(current)

    def enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.FunctionDef):
                return ancestor
        return None

    def enclosing_statement(self, node: cst.CSTNode) -> cst.BaseStatement | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return ancestor
        return None

    # -- names --------------------------------------------------------------------------------

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        value = self._qnames.get(node)
        if value is None:
            return set()
        if callable(value):
            value = value()
        return {q.name for q in value}

    def resolves_to(self, node: cst.CSTNode, *prefixes: str) -> bool:
        """True when `node` names something under one of the dotted `prefixes`."""
        return any(
            q == p or q.startswith(p + ".") for q in self.qualified_names(node) for p in prefixes
        )

    def scope(self, node: cst.CSTNode) -> Scope | None:
        return self._scopes.get(node)

    def body_scope(self, function: cst.FunctionDef | None) -> Scope:
        """The scope of a function's body, or the module's scope for None."""
        anchor = function.body.body[0] if function is not None else self.module.body[0]
        scope = self._scopes[anchor]
        return scope

    def bindings(self, name: str, scope: Scope) -> list[cst.CSTNode]:
        """Nodes that bind `name` in `scope` itself (assignment targets, params, imports, defs)."""
        return [a.node for a in scope.assignments[name] if a.scope is scope]
