"""Sums built batch by batch (`correct += ...`), and whether each holds a Python number.

On several processes each process holds the sum over its own share of the batches; a conversion
adds the processes' sums up (`self.all_gather`, `fabric.all_reduce`). How the total comes back
depends on what the sum is: a Python number (`loss.item()`, `len(x)`, `labels.size(0)`, literals
and arithmetic of those) stays a number; anything else is taken for a tensor, summed elementwise
with its shape and dtype kept.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from converter.analysis.bindings import assigned_value, bindings
from converter.analysis.index import SourceIndex
from converter.analysis.names import READ, WRITE, name_events
from converter.analysis.walk import find

_NUMBER_METHODS = frozenset("item numel nelement dim element_size".split())
_NUMBER_BUILTINS = frozenset("len int float round".split())


def increments(nodes: Iterable[cst.CSTNode], name: str) -> list[cst.AugAssign]:
    """Every `name += ...` in `nodes`."""
    return [
        aug
        for node in nodes
        for aug in find(node, cst.AugAssign)
        if isinstance(aug.operator, cst.AddAssign)
        and isinstance(aug.target, cst.Name)
        and aug.target.value == name
    ]


def summed_names(nodes: Iterable[cst.CSTNode]) -> list[str]:
    """The names `nodes` add to (`name += ...`), in order."""
    found = [
        aug.target.value
        for node in nodes
        for aug in find(node, cst.AugAssign)
        if isinstance(aug.operator, cst.AddAssign) and isinstance(aug.target, cst.Name)
    ]
    return list(dict.fromkeys(found))


def only_added_to(index: SourceIndex, nodes: list[cst.CSTNode], name: str) -> bool:
    """`nodes` write `name` only by `name += ...` and read it nowhere else: what it holds after
    them is their sum, whatever the order of the batches."""
    targets = {id(aug.target) for aug in increments(nodes, name)}
    return all(
        id(event.node) in targets
        for event in name_events(index, nodes)
        if event.node.value == name and event.kind in (READ, WRITE)
    )


def is_number(index: SourceIndex, value: cst.BaseExpression, seen: frozenset = frozenset()) -> bool:
    """The expression is certainly a Python int or float (not a tensor)."""
    if isinstance(value, (cst.Integer, cst.Float)):
        return True
    if isinstance(value, cst.UnaryOperation):
        return is_number(index, value.expression, seen)
    if isinstance(value, cst.BinaryOperation):
        return is_number(index, value.left, seen) and is_number(index, value.right, seen)
    if isinstance(value, cst.IfExp):
        return is_number(index, value.body, seen) and is_number(index, value.orelse, seen)
    if isinstance(value, cst.Subscript):  # `x.shape[0]`, `x.size()[0]`
        inner = value.value
        return (isinstance(inner, cst.Attribute) and inner.attr.value == "shape") or (
            isinstance(inner, cst.Call)
            and isinstance(inner.func, cst.Attribute)
            and inner.func.attr.value == "size"
        )
    if isinstance(value, cst.Call):
        func = value.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            return method in _NUMBER_METHODS or (method == "size" and len(value.args) == 1)
        if isinstance(func, cst.Name) and func.value in _NUMBER_BUILTINS:
            return index.resolves_to(func, f"builtins.{func.value}")
        if isinstance(func, cst.Name) and func.value not in seen:
            return _returns_numbers(index, func, seen | {func.value})
        return False
    if isinstance(value, cst.Name) and value.value not in seen:
        scope = index.scope(value)
        found = bindings(index, scope, value.value) if scope is not None else []
        values = [assigned_value(statement, value.value) for statement in found]
        return bool(values) and all(
            v is not None and is_number(index, v, seen | {value.value}) for v in values
        )
    return False


def _returns_numbers(index: SourceIndex, func: cst.Name, seen: frozenset) -> bool:
    """`train(x, y)`: the script's own function, whose every `return` gives a number
    (`return loss.item()`)."""
    found = [
        f
        for f in index.nodes(cst.FunctionDef)
        if f.name.value == func.value and index.enclosing_function(f) is None
    ]
    if len(found) != 1 or index.qualified_names(func) != {func.value}:
        return False  # not the script's own function (an import, a name bound twice)
    own = [r for r in find(found[0].body, cst.Return) if index.enclosing_function(r) is found[0]]
    return bool(own) and all(r.value is not None and is_number(index, r.value, seen) for r in own)


def holds_number(
    index: SourceIndex, name: str, adds: list[cst.AugAssign], starts: list[cst.BaseExpression]
) -> bool:
    """A sum set to `starts` and added `adds` to holds a Python number."""
    return bool(starts) and all(
        is_number(index, v) for v in [*starts, *(aug.value for aug in adds)]
    )


UNEVEN = (
    " (not exact where the data does not divide evenly among the processes: the"
    " DistributedSampler repeats up to processes - 1 samples, which the sums count)"
)
