"""Scopes: which names each scope binds and reads, and the dotted path of an imported name.

Python's rules, as LibCST's ScopeProvider follows them: a function, lambda, class and
comprehension each have a scope; a name bound anywhere in a function is local to it unless
declared `global`/`nonlocal`; class bodies are not visible from the functions inside them; a
comprehension's first iterable is evaluated outside it; `:=` binds in the enclosing function.

They are computed during `SourceIndex`'s single walk over the tree (see `walk.py`) rather than by
LibCST's ScopeProvider, which needs two extra visits of the whole tree and cost more than the
parse itself (see docs/architecture.md, "Throughput"). The objects offer what the analysis uses
of LibCST's: `scope.assignments[name]`, `scope.accesses[name]`, `.scope`, `.node`, `.name`.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst


class Assignment:
    """`name` is bound by `node` (a Name target, a Param, a def, a class, an import statement)."""

    __slots__ = ("name", "node", "scope", "qualified")

    def __init__(self, name: str, node: cst.CSTNode, scope: Scope, qualified: str | None) -> None:
        self.name = name
        self.node = node
        self.scope = scope
        self.qualified = qualified  # the dotted path an import binds, else None


class Access:
    __slots__ = ("name", "node", "scope")

    def __init__(self, name: str, node: cst.CSTNode, scope: Scope) -> None:
        self.name = name
        self.node = node
        self.scope = scope


class _Table:
    """`table[name]` -> the entries for that name (empty if none); iterating gives them all."""

    __slots__ = ("_by_name",)

    def __init__(self, by_name: dict[str, list]) -> None:
        self._by_name = by_name

    def __getitem__(self, name: str) -> list:
        return self._by_name.get(name, [])

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator:
        for entries in self._by_name.values():
            yield from entries


class Scope:
    def __init__(self, node: cst.CSTNode, parent: Scope | None) -> None:
        self.node = node
        self.parent = parent
        self._assignments: dict[str, list[Assignment]] = {}
        self._accesses: dict[str, list[Access]] = {}
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()

    @property
    def assignments(self) -> _Table:
        return _Table(self._assignments)

    @property
    def accesses(self) -> _Table:
        return _Table(self._accesses)

    def assignments_by_name(self) -> dict[str, list[Assignment]]:
        return self._assignments

    def accesses_by_name(self) -> dict[str, list[Access]]:
        return self._accesses

    @property
    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def assign(self, name: str, node: cst.CSTNode, qualified: str | None = None) -> None:
        owner = self
        if name in self.globals:
            owner = self.module
        elif name in self.nonlocals:
            owner = self._enclosing_function_binding(name) or self
        owner._assignments.setdefault(name, []).append(Assignment(name, node, owner, qualified))

    def access(self, name: str, node: cst.CSTNode) -> None:
        self._accesses.setdefault(name, []).append(Access(name, node, self))

    def lookup(self, name: str) -> Scope | None:
        """The scope whose bindings a read of `name` here sees (None: a builtin)."""
        if name in self.globals:
            return self.module
        scope: Scope | None = self
        while scope is not None:
            if name in scope._assignments and (scope is self or not isinstance(scope, ClassScope)):
                return scope
            scope = scope.parent
        return None

    def _enclosing_function_binding(self, name: str) -> Scope | None:
        scope = self.parent
        while scope is not None and not isinstance(scope, ModuleScope):
            if isinstance(scope, FunctionScope) and name in scope._assignments:
                return scope
            scope = scope.parent
        return None

    def qualified_names(self, dotted: str) -> set[str]:
        """`optim.Adam` -> {"torch.optim.Adam"} where `import torch.optim as optim` is seen."""
        root, _, rest = dotted.partition(".")
        owner = self.lookup(root)
        if owner is None:
            return {f"builtins.{dotted}"}
        names = set()
        for assignment in owner._assignments[root]:
            base = assignment.qualified or root
            names.add(f"{base}.{rest}" if rest else base)
        return names


class ModuleScope(Scope):
    pass


class FunctionScope(Scope):
    """A def's or a lambda's body."""


class ClassScope(Scope):
    pass


class ComprehensionScope(Scope):
    pass
