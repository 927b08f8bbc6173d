"""Imports the conversion leaves unused, taken out.

A conversion takes code away (the `tqdm(...)` around a loop, the DDP boilerplate, a device move):
an import that only that code read would stay behind, unused. A module-level import the script
read and the conversion no longer reads goes; one the script itself never read stays (it is the
script's own affair, perhaps imported for its side effects).
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.index import SourceIndex


def drop_unused_imports(
    original: SourceIndex, converted: cst.Module
) -> tuple[cst.Module, str, SourceIndex]:
    """The converted module without the imports it no longer reads, its code, and its index
    (which the output check reads next)."""
    code = converted.code
    after = SourceIndex(converted, code)
    read_before = _read_imports(original)
    if not read_before:
        return converted, code, after
    read_after = _read_imports(after)
    imported = {n for s in converted.body for n in _import_names(s)}
    unused = {n for n in imported if n in read_before and n not in read_after}
    if not unused:
        return converted, code, after
    converted = converted.with_changes(body=_without(list(converted.body), unused))
    code = converted.code
    return converted, code, SourceIndex(converted, code)


def _import_names(statement) -> list[str]:
    """The names a module-level `import`/`from ... import` statement binds."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return []
    small = statement.body[0]
    if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(
        small.names, cst.ImportStar
    ):
        return []
    return [_bound(alias) for alias in small.names]


def _read_imports(index: SourceIndex) -> set[str]:
    """Names a module-level import binds that some code reads."""
    module = index.body_scope(None)
    imported = {
        a.name for a in module.assignments if isinstance(a.node, (cst.Import, cst.ImportFrom))
    }
    read = set()
    for scope in index.scopes():
        for access in scope.accesses:
            if access.name in imported and scope.lookup(access.name) is module:
                read.add(access.name)
    return read


def _without(body: list, unused: set[str]) -> list:
    kept: list = []
    carried: list[cst.EmptyLine] = []  # the comments above an import that went
    for statement in body:
        if carried:
            statement = statement.with_changes(leading_lines=[*carried, *statement.leading_lines])
            carried = []
        new = _drop_aliases(statement, unused)
        if new is None:
            carried = [line for line in statement.leading_lines if line.comment is not None]
            continue
        kept.append(new)
    return kept


def _drop_aliases(statement, unused: set[str]):
    """The statement without the aliases that bind `unused` names (None: nothing is left)."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return statement
    small = statement.body[0]
    if not isinstance(small, (cst.Import, cst.ImportFrom)) or isinstance(
        small.names, cst.ImportStar
    ):
        return statement
    if isinstance(small, cst.ImportFrom) and _module_name(small) == "__future__":
        return statement
    names = [alias for alias in small.names if _bound(alias) not in unused]
    if len(names) == len(small.names):
        return statement
    if not names:
        return None
    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return statement.with_changes(body=[small.with_changes(names=names)])


def _bound(alias: cst.ImportAlias) -> str:
    if alias.asname is not None:
        return alias.asname.name.value
    name = alias.name
    while isinstance(name, cst.Attribute):
        name = name.value
    return name.value


def _module_name(statement: cst.ImportFrom) -> str:
    module = statement.module
    parts = []
    while isinstance(module, cst.Attribute):
        parts.append(module.attr.value)
        module = module.value
    if isinstance(module, cst.Name):
        parts.append(module.value)
    return ".".join(reversed(parts))
