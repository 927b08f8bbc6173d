"""Where `fabric` exists: the statement Fabric is created before, and the code that can use it.

Fabric is created (and launched) in the scope that creates the models and optimizers, as early as
it can be: after the statements binding what its options read (the argparse namespace, the
script's device choice), before the first statement that needs it (a `fabric.setup(...)`, a
`fabric.backward(...)`, a call of a function that trains), and after the script's leading
imports, classes and functions. Launching early matters: on several processes, everything before
`fabric.launch()` runs in every process, and only what follows can print once.

Code that can use `fabric` is that scope's code after the creation, functions nested in it and
defined there, and every function all of whose calls are such code (module-level functions then
receive `fabric` as a parameter, unless Fabric lives at module level).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.targets.fabric.roles import Roles

GLOBAL, LEXICAL, PARAMETER = "global", "lexical", "parameter"


@dataclass
class Reach:
    index: SourceIndex
    roles: Roles
    anchor: cst.BaseStatement  # Fabric is created right before this statement
    access: dict[cst.FunctionDef, str] = field(default_factory=dict)  # function -> how it sees it

    def has_fabric(self, node: cst.CSTNode) -> bool:
        function = self.index.enclosing_function(node)
        if function is self.roles.function:
            return self.index.order(node) >= self.index.order(self.anchor)
        return function in self.access

    def why_not(self, node: cst.CSTNode) -> str:
        """Why `node` cannot use `fabric` (for a decline)."""
        index = self.index
        function = index.enclosing_function(node)
        if function is None or function is self.roles.function:
            return "it runs before Fabric can be created (before the model and optimizer exist)"
        name = function.name.value
        if isinstance(index.parent(index.parent(function)), cst.ClassDef):
            return f"{name}() is a method: Fabric needs the loop in a function or the script"
        if function.decorators and not _keeps_signature(index, function):
            return f"{name}() is decorated: it cannot receive `fabric` through the decorator"
        return f"{name}() is also called where Fabric does not exist (or not only called by name)"

    def never_called(self, node: cst.CSTNode) -> bool:
        """`node` is in a module-level function that nothing refers to."""
        function = self.index.enclosing_function(node)
        return (
            function is not None
            and isinstance(self.index.parent(function), cst.Module)
            and not _calls(self.index, function)
        )

    def parameter_functions(self) -> list[cst.FunctionDef]:
        return [f for f, how in self.access.items() if how == PARAMETER]


def place(index: SourceIndex, roles: Roles, required: list[cst.CSTNode], needs) -> Reach:
    """`required`: nodes of the setup scope that must see `fabric`; `needs`: statements binding
    what the Fabric(...) call reads."""
    body = roles.function.body if roles.function is not None else index.module
    anchor = _anchor(index, body, required, needs)
    reach = Reach(index, roles, anchor)
    reach.access = _access(index, reach)
    return reach


def _anchor(index: SourceIndex, block, required, needs) -> cst.BaseStatement:
    statements = list(block.body)
    position = {id(s): i for i, s in enumerate(statements)}

    def top(node) -> int | None:
        for candidate in (node, *index.ancestors(node)):
            if id(candidate) in position and index.parent(candidate) is block:
                return position[id(candidate)]
        return None

    firsts = [i for i in map(top, required) if i is not None]
    lasts = [i for i in map(top, needs) if i is not None]
    if not firsts:
        raise Declined(0, "nothing to set up Fabric for in this scope")
    first = min(firsts)
    last = max(lasts, default=-1)
    if last < first:
        start = _first_executable(statements)
        return statements[min(first, max(last + 1, start))]
    statement = statements[first]
    inner = _descendable(statement)
    if last == first and inner is not None:
        return _anchor(index, inner, required, needs)
    need = next(n for n in needs if top(n) == last)
    raise Declined(
        index.line(need),
        "Fabric's options depend on this statement, which runs after the model is set up",
    )


def _first_executable(statements) -> int:
    """After a docstring and the leading imports, classes and functions."""
    for i, statement in enumerate(statements):
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(small, (cst.Import, cst.ImportFrom))
            or (isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString))
            for small in statement.body
        ):
            continue
        return i
    return len(statements) - 1


def _descendable(statement) -> cst.IndentedBlock | None:
    """A block entered once, if at all: `if __name__ == "__main__":`, `with`, `try`."""
    if isinstance(statement, cst.If) and statement.orelse is None:
        return statement.body if isinstance(statement.body, cst.IndentedBlock) else None
    if isinstance(statement, (cst.With, cst.Try)) and isinstance(statement.body, cst.IndentedBlock):
        return statement.body
    return None


def _access(index: SourceIndex, reach: Reach) -> dict[cst.FunctionDef, str]:
    """The greatest set of functions whose every call runs where `fabric` exists."""
    roles = reach.roles
    module_level = roles.function is None
    candidates = {}
    for function in index.nodes(cst.FunctionDef):
        if function is roles.function or isinstance(
            index.parent(index.parent(function)), cst.ClassDef
        ):
            continue
        if isinstance(index.parent(function), cst.Module):
            if not module_level and not _keeps_signature(index, function):
                continue  # a decorator may call it without the new parameter
            candidates[function] = GLOBAL if module_level else PARAMETER
        else:  # defined in a function or in a block: sees `fabric` where it is defined
            candidates[function] = LEXICAL
    reach.access = dict(candidates)
    references = {f: _calls(index, f) for f, how in candidates.items() if how != LEXICAL}
    changed = True
    while changed:
        changed = False
        for function in list(reach.access):
            how = reach.access[function]
            if how == LEXICAL:
                ok = reach.has_fabric(function)
            else:
                calls = references[function]
                ok = bool(calls) and all(c is not None and reach.has_fabric(c) for c in calls)
            if not ok:
                del reach.access[function]
                changed = True
    return reach.access


_GRAD_MODES = ("torch.no_grad", "torch.inference_mode", "torch.enable_grad")


def _keeps_signature(index: SourceIndex, function: cst.FunctionDef) -> bool:
    """Undecorated, or decorated by torch's grad modes (which pass every argument on)."""
    for decorator in function.decorators:
        target = decorator.decorator
        target = target.func if isinstance(target, cst.Call) else target
        if not index.resolves_to(target, *_GRAD_MODES):
            return False
    return True


def _calls(index: SourceIndex, function: cst.FunctionDef) -> list[cst.Call | None]:
    """Every reference to a module-level function: its call, or None where it is not called
    (passed as a callback, stored)."""
    name = function.name.value
    module = index.body_scope(None)
    found: list[cst.Call | None] = []
    for scope in index.scopes():
        for access in scope.accesses[name]:
            if scope.lookup(name) is not module:
                continue
            parent = index.parent(access.node)
            found.append(
                parent if isinstance(parent, cst.Call) and parent.func is access.node else None
            )
    return found


def references(index: SourceIndex, function: cst.FunctionDef) -> list[cst.Call | None]:
    return _calls(index, function)
