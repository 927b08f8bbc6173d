"""SourceIndex: one parse of a script with what every analysis step reads of it.

One walk (`walk.py`) gives each node's parent, the nodes in source order and the scopes, from
which qualified names follow (`import torch.optim as optim`, `from torch import optim` and
`from torch.optim import Adam` look alike). Line numbers for the report are computed only for
the top-level statements that hold a node asked about. Nothing here changes the tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst
from libcst.helpers import get_full_name_for_node

from converter.analysis.lines import Lines
from converter.analysis.scopes import Scope
from converter.analysis.walk import Walk, is_kind


class SourceIndex:
    def __init__(self, module: cst.Module, source: str | None = None) -> None:
        self.module = module
        self._walk = Walk(module)
        self._parents = self._walk.parents
        self._qnames: dict[cst.CSTNode, set[str]] = {}
        self._lines = Lines(module, source, self._parents)
        self._by_type: dict[type, list] | None = None
        #: results of analyses that only read the tree, by analysis then node: the tree never
        #: changes, so what was found for a node stays true (see names.name_events)
        self.memo: dict[str, dict] = {}

    # -- positions and tree shape -------------------------------------------------------------

    def line(self, node: cst.CSTNode) -> int:
        """The line a node starts on (0 for a node that is not in the tree)."""
        return self._lines.of(node)

    def top_level(self, node: cst.CSTNode) -> cst.CSTNode | None:
        current = node
        while True:
            parent = self._parents.get(current)
            if parent is None:
                return None
            if parent is self.module:
                return current
            current = parent

    def nodes(self, kind: type | tuple[type, ...]) -> list:
        """Every node of a kind, in source order, without walking the tree again."""
        if self._by_type is None:
            self._by_type = {}
            for node in self._walk.order:
                self._by_type.setdefault(type(node), []).append(node)
        groups = [nodes for t, nodes in self._by_type.items() if is_kind(t, kind)]
        if len(groups) == 1:
            return list(groups[0])
        position = self._walk.position
        return sorted((n for group in groups for n in group), key=position.__getitem__)

    def order(self, node: cst.CSTNode) -> int:
        """The node's place in source order (an ancestor comes before its descendants)."""
        return self._walk.position[node]

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self._parents.get(node)
        while current is not None:
            yield current
            current = self._parents.get(current)

    def paths_to(self, nodes: Iterable[cst.CSTNode]) -> set[cst.CSTNode]:
        """`nodes` and every ancestor of each: what a transform must visit to reach them."""
        found: set[cst.CSTNode] = set()
        parents = self._parents
        for node in nodes:
            while node is not None and node not in found:
                found.add(node)
                node = parents.get(node)
        return found

    def enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.FunctionDef):
                return ancestor
        return None

    def enclosing_loop(self, node: cst.CSTNode) -> cst.For | cst.While | None:
        return next((a for a in self.ancestors(node) if isinstance(a, (cst.For, cst.While))), None)

    def enclosing_statement(self, node: cst.CSTNode) -> cst.BaseStatement | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return ancestor
        return None

    # -- names --------------------------------------------------------------------------------

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """`optim.Adam` -> {"torch.optim.Adam"} when `import torch.optim as optim`."""
        if node not in self._qnames:
            target = node.func if isinstance(node, cst.Call) else node
            scope = self._walk.scopes.get(target)
            dotted = (
                get_full_name_for_node(target)
                if isinstance(target, (cst.Name, cst.Attribute))
                else None
            )
            self._qnames[node] = scope.qualified_names(dotted) if scope and dotted else set()
        return self._qnames[node]

    def resolves_to(self, node: cst.CSTNode, *prefixes: str) -> bool:
        """True when `node` names something under one of the dotted `prefixes`."""
        return any(
            q == p or q.startswith(p + ".") for q in self.qualified_names(node) for p in prefixes
        )

    def scope(self, node: cst.CSTNode) -> Scope | None:
        return self._walk.scopes.get(node)

    def body_scope(self, function: cst.FunctionDef | None) -> Scope:
        """The scope of a function's body, or the module's scope for None."""
        if function is None:
            return self._walk.module_scope
        return self._walk.scopes[function.body]

    def scopes(self) -> list[Scope]:
        found = {self._walk.module_scope: None}
        found.update(dict.fromkeys(s for s in self._walk.scopes.values() if s is not None))
        return list(found)

    def variables(self) -> set[str]:
        """Every name some scope binds or reads (attribute names and keywords are not)."""
        names: set[str] = set()
        for scope in self.scopes():
            names |= set(scope.assignments_by_name()) | set(scope.accesses_by_name())
        return names

    def fresh_name(self, wanted: str) -> str:
        """`wanted`, or `wanted_2`, `wanted_3`... whichever no name in the script uses yet."""
        used = {n.value for n in self.nodes(cst.Name)}
        name, counter = wanted, 1
        while name in used:
            counter += 1
            name = f"{wanted}_{counter}"
        return name
