"""Which code sees a name bound at given statements: the analysis behind a function's body
taking the place of its calls (targets/trainer/inlining.py). Reads only the tree and its scopes.

A binding put in place of a statement is seen by a read of that name in the same scope when the
read may run after it with no other binding surely in between: after it in its block, in a loop
around it, after the block it ends, or in a function defined there (which runs whenever it is
called). A read before the statement, or one that a later plain assignment, a `for` target or a
`with ... as` binds again first, sees what it saw before.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.scopes import ComprehensionScope, Scope
from converter.analysis.walk import find


def seen_after(index: SourceIndex, own: Scope, caller, statements, name: str) -> bool:
    """Whether the caller's code might read ``name`` as a copy left it: a read in a function or
    class defined in the caller (which runs whenever it is called), in a loop around a call, or
    after a call with nothing binding ``name`` again surely in between. Reads before a call see
    what they saw before. (A notebook reuses `x`, `loss` and `batch` from cell to cell, each
    cell binding them again before it reads them.)"""
    scope_of_caller = index.body_scope(caller)
    for scope in index.scopes():
        if within(scope, own) or not within(scope, scope_of_caller):
            continue
        resolved = scope.lookup(name)  # None: a builtin, or unbound (a NameError)
        if resolved is not None and resolved is not scope_of_caller:
            if within(resolved, scope_of_caller):
                continue  # a local of a function inside the caller: not the caller's name
        for access in scope.accesses[name]:
            if _runs_apart(scope, scope_of_caller):
                return True
            for statement in statements:
                if _sees_copy(index, statement, access.node, name, caller):
                    return True
    return False


def _sees_copy(index: SourceIndex, statement, read, name: str, caller) -> bool:
    """Whether ``read`` may run after the copy that replaces ``statement`` with no binding of
    ``name`` in between."""
    around = set(index.ancestors(read))
    for loop in index.ancestors(statement):
        if loop is caller:
            break
        if isinstance(loop, (cst.For, cst.While)) and loop in around:
            return True  # the loop runs the copy again after the read
    if index.order(read) < index.order(statement):
        return False
    current = statement
    while True:
        block = index.parent(current)
        if not isinstance(block, (cst.IndentedBlock, cst.Module)):
            return True
        body = list(block.body)
        after = body[body.index(current) + 1 :]
        holder = next((s for s in after if s in around), None)
        between = after[: after.index(holder)] if holder is not None else after
        if _surely_binds(between, name):
            return False
        if holder is not None:
            return not _bound_around(index, read, holder, name)
        owner = index.parent(block)
        while owner is not None and not isinstance(owner, cst.BaseStatement):
            owner = index.parent(owner)  # an `else:` block's statement
        if owner is None or owner is caller or block is index.module:
            return True
        current = owner


def _surely_binds(statements: list, name: str) -> bool:
    """One of ``statements``, run in order with nothing jumping past it, binds ``name``."""
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine) and name in _assigned(statement):
            return True
        if find(statement, (cst.Break, cst.Continue, cst.Return, cst.Raise)):
            return False
    return False


def _bound_around(index: SourceIndex, read, holder, name: str) -> bool:
    """Inside ``holder``, something that surely runs before ``read`` binds ``name``: an earlier
    statement of a block around the read, a `for` or `with` whose body the read is in."""
    path = [read, *index.ancestors(read)]
    for child, node in zip(path, path[1:]):
        if child is holder:
            break
        if isinstance(node, cst.For) and child is node.body:
            if name in {n.value for n in find(node.target, cst.Name)}:
                return True
        if isinstance(node, cst.With) and child is node.body:
            bound = [i.asname.name for i in node.items if i.asname is not None]
            if name in {n.value for b in bound for n in find(b, cst.Name)}:
                return True
        if isinstance(node, (cst.IndentedBlock, cst.Module)):
            if _surely_binds(list(node.body[: list(node.body).index(child)]), name):
                return True
    return False


def _runs_apart(scope: Scope, caller: Scope) -> bool:
    """A function or class body inside the caller: it runs whenever it is called."""
    while scope is not None and scope is not caller:
        if not isinstance(scope, ComprehensionScope):
            return True
        scope = scope.parent
    return False


def _assigned(statement: cst.SimpleStatementLine) -> set[str]:
    names = set()
    for small in statement.body:
        if isinstance(small, (cst.Assign,)):
            for target in small.targets:
                names |= {
                    n.value
                    for n in find(target.target, cst.Name)
                    if not _under_attribute(n, target.target)
                }
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            if isinstance(small.target, cst.Name):
                names.add(small.target.value)
        elif isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
            small.names, cst.ImportStar
        ):
            for alias in small.names:
                bound = alias.asname.name if alias.asname else alias.name
                if isinstance(bound, cst.Name):
                    names.add(bound.value)
                elif isinstance(bound, cst.Attribute):
                    names.add(cst.helpers.get_full_name_for_node(bound).split(".")[0])
    return names


def _under_attribute(name: cst.Name, target) -> bool:
    """`a.b = ...` or `a[i] = ...` bind no name."""
    return any(
        isinstance(node, (cst.Attribute, cst.Subscript)) and name in find(node, cst.Name)
        for node in find(target, (cst.Attribute, cst.Subscript))
    )


def within(scope: Scope | None, outer: Scope) -> bool:
    while scope is not None:
        if scope is outer:
            return True
        scope = scope.parent
    return False
