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
    PositionProvider,
    Scope,
    ScopeProvider,
)


class SourceIndex:
    def __init__(self, module: cst.Module) -> None:
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.module = self.wrapper.module
        # Metadata is computed when first needed: a file declined early pays only for parents.
        # Qualified names are asked of the scopes for the few nodes the analysis looks at.
        self._parents = _parent_map(self.module)
        self._scope_map = None
        self._positions = None
        self._qnames: dict[cst.CSTNode, set[str]] = {}

    # -- positions and tree shape -------------------------------------------------------------

    def line(self, node: cst.CSTNode) -> int:
        if self._positions is None:
            self._positions = self.wrapper.resolve(PositionProvider)
        try:
            return self._positions[node].start.line
        except KeyError:
            return 0

    def nodes(self, kind: type) -> list:
        """Every node of a kind, found without walking the tree again."""
        return [node for node in self._parents if isinstance(node, kind)]

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
        """`optim.Adam` -> {"torch.optim.Adam"} when `import torch.optim as optim`."""
        if node not in self._qnames:
            scope = self._scopes.get(node)
            names = set()
            if scope is not None and isinstance(node, (cst.Name, cst.Attribute, cst.Call)):
                target = node.func if isinstance(node, cst.Call) else node
                names = {q.name for q in scope.get_qualified_names_for(target)}
            self._qnames[node] = names
        return self._qnames[node]

    def resolves_to(self, node: cst.CSTNode, *prefixes: str) -> bool:
        """True when `node` names something under one of the dotted `prefixes`."""
        return any(
            q == p or q.startswith(p + ".") for q in self.qualified_names(node) for p in prefixes
        )

    @property
    def _scopes(self):
        if self._scope_map is None:
            self._scope_map = self.wrapper.resolve(ScopeProvider)
        return self._scope_map

    def scope(self, node: cst.CSTNode) -> Scope | None:
        return self._scopes.get(node)

    def body_scope(self, function: cst.FunctionDef | None) -> Scope:
        """The scope of a function's body, or the module's scope for None."""
        anchor = function.body.body[0] if function is not None else self.module.body[0]
        scope = self._scopes[anchor]
        return scope

    def fresh_name(self, wanted: str) -> str:
        """`wanted`, or `wanted_2`, `wanted_3`... whichever no name in the script uses yet."""
        used = {n.value for n in self.nodes(cst.Name)}
        name, counter = wanted, 1
        while name in used:
            counter += 1
            name = f"{wanted}_{counter}"
        return name


def _parent_map(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
    """Each node's parent; the dict's order is the source order of the nodes."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        children = node.children
        for child in children:
            parents[child] = node
        stack.extend(reversed(children))
    return parents
