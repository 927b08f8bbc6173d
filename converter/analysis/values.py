"""Which site values are hyper-parameters: plain data (numbers, strings, booleans, None, and
lists, tuples or dicts of them, an argparse option, arithmetic on those, `int(...)`, `len(...)`,
a parameter of a function that every call of it passes plain data), as opposed to objects
(modules, tensors, functions, datasets) that the hooks use.

Lightning saves hyper-parameters in every checkpoint and loads them back with a weights-only
unpickler, which takes plain data only; objects are handed to the module as attributes.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import assigned_value, bindings
from converter.analysis.index import SourceIndex
from converter.analysis.loops import bind_arguments
from converter.analysis.site import Declined

_PRIMITIVE_CALLS = frozenset("int float str bool round len".split())  # whatever they are given
_PLAIN_CALLS = frozenset("abs min max sum tuple list".split())  # plain when their arguments are
_LITERALS = (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)


def is_plain_name(
    index: SourceIndex, scope, name: str, namespaces: set[str], seen: frozenset = frozenset()
) -> bool:
    found = bindings(index, scope, name)
    if not found or name in seen:
        return False
    seen = seen | {name}
    return all(
        _plain_parameter(index, statement, name, namespaces, seen)
        if _is_parameter_of(index, statement, name, scope)
        else (value := assigned_value(statement, name)) is not None
        and is_plain(index, scope, value, namespaces, seen)
        for statement in found
    )


def _is_parameter_of(index: SourceIndex, statement, name: str, scope) -> bool:
    if not isinstance(statement, cst.FunctionDef) or index.body_scope(statement) is not scope:
        return False
    params = statement.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    return any(p.name.value == name for p in every)


def _plain_parameter(index: SourceIndex, function: cst.FunctionDef, name: str, namespaces, seen):
    """Every call of the module-level `function` (called by name, and used no other way)
    passes plain data for its parameter `name` (or leaves its plain default)."""
    module = index.body_scope(None)
    if index.parent(function) is not index.module:
        return False
    uses = [
        access.node
        for scope in index.scopes()
        if scope.lookup(function.name.value) is module
        for access in scope.accesses_by_name().get(function.name.value, [])
    ]
    if not uses:
        return False
    for use in uses:
        call = index.parent(use)
        if not isinstance(call, cst.Call) or call.func is not use:
            return False
        try:
            value = bind_arguments(index, function, call).get(name)
        except Declined:
            return False
        caller = index.scope(use)
        if value is None or caller is None or not is_plain(index, caller, value, namespaces, seen):
            return False
    return True


def is_plain(
    index, scope, value: cst.BaseExpression, namespaces: set[str], seen=frozenset()
) -> bool:
    def plain(node) -> bool:
        return is_plain(index, scope, node, namespaces, seen)

    if isinstance(value, _LITERALS):
        return True
    if isinstance(value, cst.Name):
        if value.value in ("True", "False", "None"):
            return True
        return is_plain_name(index, scope, value.value, namespaces, seen)
    if isinstance(value, cst.Attribute):  # args.lr
        return isinstance(value.value, cst.Name) and value.value.value in namespaces
    if isinstance(value, cst.UnaryOperation):
        return plain(value.expression)
    if isinstance(value, cst.BinaryOperation):
        return plain(value.left) and plain(value.right)
    if isinstance(value, (cst.Tuple, cst.List)):
        return all(plain(e.value) for e in value.elements)
    if isinstance(value, cst.Dict):
        return all(
            isinstance(e, cst.DictElement) and plain(e.key) and plain(e.value)
            for e in value.elements
        )
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
        name = value.func.value
        if not index.resolves_to(value.func, f"builtins.{name}"):
            return False
        if name in _PRIMITIVE_CALLS:
            return True
        return name in _PLAIN_CALLS and all(plain(a.value) for a in value.args)
    return False
